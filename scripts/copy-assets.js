// Copies what tsc does not (Lua scripts, the job page's HTML, script and style, the ONNX schema) from the
// source tree into dist/, at the same relative paths. The Lua and job page folders are replaced whole,
// so a file renamed or removed in the sources leaves no copy behind; the schema is one file beside the
// compiled generator.
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const path of ['libs/jobs/src/store/lua', 'apps/api/src/job-page', 'libs/model-gen/src/onnx/onnx.proto']) {
  rmSync(join(root, 'dist', path), { recursive: true, force: true });
  cpSync(join(root, path), join(root, 'dist', path), { recursive: true });
}
