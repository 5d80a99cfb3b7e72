#!/usr/bin/env node
// Copies what tsc does not (Lua scripts, the ONNX schema) from the source tree into dist/, at the same relative paths.
// The Lua folder is replaced whole, so a script renamed or removed in the sources leaves no copy behind; the model
// generator's onnx folder also holds TypeScript that tsc compiled there, so only its schema is copied.
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const lua = 'libs/jobs/src/store/lua';
rmSync(join(root, 'dist', lua), { recursive: true, force: true });
cpSync(join(root, lua), join(root, 'dist', lua), { recursive: true });
const schema = 'libs/model-gen/src/onnx/onnx.proto';
cpSync(join(root, schema), join(root, 'dist', schema));
