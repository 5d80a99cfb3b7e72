#!/usr/bin/env node
// Copies what tsc does not (Lua scripts, the ONNX schema) from the source tree into dist/, at the same relative paths
// (the folder replaced whole, so a script renamed or removed in the sources leaves no copy behind).
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const dir of ['libs/jobs/src/store/lua', 'libs/model-gen/src/onnx']) {
  rmSync(join(root, 'dist', dir), { recursive: true, force: true });
  cpSync(join(root, dir), join(root, 'dist', dir), { recursive: true });
}
