#!/usr/bin/env node
// Copies what tsc does not (Lua scripts, the ONNX schema) from the source tree into dist/, at the same relative paths.
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const path of ['libs/jobs/src/store/lua', 'libs/model-gen/src/onnx/onnx.proto'])
  cpSync(join(root, path), join(root, 'dist', path), { recursive: true });
