#!/usr/bin/env node
// `npm start`: builds dist/ only when the sources changed since the last build (scripts/build-fingerprint.js),
// then runs the stack (apps/stack) in this very process. package.json's start script `exec`s node, so
// npm's child is this process: npm forwards SIGTERM and SIGINT to it, and the stack stops everything it
// started (a shell in between would die and leave the stack running as an orphan).
const { join } = require('node:path');
const { buildIfChanged } = require('./build-fingerprint');

void buildIfChanged('npm start').then((code) => {
  if (code !== 0) process.exit(code);
  require(join(__dirname, '..', 'dist', 'apps', 'stack', 'src', 'main.js'));
});
