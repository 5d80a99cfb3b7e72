#!/usr/bin/env node
// `npm start`: builds dist/ only when the sources changed since the last build (scripts/build-fingerprint.js),
// then runs the stack (apps/stack) in this very process. package.json's start script `exec`s node, so
// npm's child is this process: npm forwards SIGTERM and SIGINT to it, and the stack stops everything it
// started (a shell in between would die and leave the stack running as an orphan).
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const { join } = require('node:path');
const { buildIsCurrent } = require('./build-fingerprint');

function build() {
  // Under npm, the npm that runs us (npm_execpath); run directly, the npm on the PATH.
  const npm = process.env.npm_execpath;
  const child = npm
    ? spawn(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
    : spawn('npm', ['run', 'build'], { stdio: 'inherit' });
  // A stop while building stops the build too (nothing else runs yet).
  const stop = (signal) => child.kill(signal);
  process.on('SIGINT', stop).on('SIGTERM', stop);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
    child.once('error', (e) => {
      console.error(`npm start: cannot run npm run build: ${e.message}`);
      resolve(1);
    });
  });
}

async function main() {
  if (buildIsCurrent()) {
    console.log('npm start: dist/ is current with the sources; not rebuilding');
  } else {
    console.log('npm start: the sources changed since the last build (or dist/ is missing); npm run build');
    const code = await build();
    if (code !== 0) process.exit(code);
  }
  require(join(__dirname, '..', 'dist', 'apps', 'stack', 'src', 'main.js'));
}

void main();
