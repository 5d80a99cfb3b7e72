#!/usr/bin/env node
// Copies what tsc does not (Lua scripts) from the source tree into dist/, at the same relative paths.
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const dir of ['libs/jobs/src/store/lua']) cpSync(join(root, dir), join(root, 'dist', dir), { recursive: true });
