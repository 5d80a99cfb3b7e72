// Copies what tsc does not (Lua scripts, the ONNX schema) from the source tree into dist/, at the same
// relative paths. The Lua folder is replaced whole, so a script renamed or removed in the sources
// leaves no copy behind; the schema is one file beside the compiled generator.
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const path of ['libs/jobs/src/store/lua', 'libs/model-gen/src/onnx/onnx.proto']) {
  rmSync(join(root, 'dist', path), { recursive: true, force: true });
  cpSync(join(root, path), join(root, 'dist', path), { recursive: true });
}
