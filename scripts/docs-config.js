#!/usr/bin/env node
// Writes the configuration table of docs/deploy.md from the declarations (libs/jobs/src/config/sections.ts).
// Run through `npm run docs:config`, which builds dist/ first; `--check` only says whether it is current.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { withConfigTable } = require('../dist/libs/jobs/src/config/docs');

const path = join(__dirname, '..', 'docs', 'deploy.md');
const current = readFileSync(path, 'utf8');
const next = withConfigTable(current);
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error('docs/deploy.md: the configuration table is out of date; run `npm run docs:config`');
    process.exit(1);
  }
  console.log('docs/deploy.md: the configuration table is current');
} else if (next === current) {
  console.log('docs/deploy.md: the configuration table is already current');
} else {
  writeFileSync(path, next);
  console.log('docs/deploy.md: configuration table written');
}
