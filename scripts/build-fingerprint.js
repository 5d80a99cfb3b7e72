#!/usr/bin/env node
// What dist/ was built from: a hash of the build's inputs (every file under apps/, libs/ and bench/,
// the tsconfig files, the asset copier and package-lock.json), each by path, size and modification
// time; statting ~500 files takes milliseconds.
//   node scripts/build-fingerprint.js                      writes dist/.build-fingerprint (`npm run build`'s last step)
//   node scripts/build-fingerprint.js --build-if-changed   runs `npm run build` only when the sources no longer
//                                                         match it (`npm start` does the same, scripts/start.js)
const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { constants } = require('node:os');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const INPUT_DIRS = ['apps', 'libs', 'bench'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'scripts/copy-assets.js', 'package-lock.json'];
const STAMP = join(ROOT, 'dist', '.build-fingerprint');

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

/** The fingerprint of the build's inputs as they are now. */
function sourceFingerprint() {
  const files = [...INPUT_DIRS.flatMap((d) => filesUnder(join(ROOT, d))), ...INPUT_FILES.map((f) => join(ROOT, f))].sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const s = existsSync(file) ? statSync(file) : undefined;
    hash.update(`${relative(ROOT, file)}\0${s ? `${s.size}\0${s.mtimeMs}` : 'missing'}\n`);
  }
  return hash.digest('hex');
}

/** Whether dist/ was built from the sources as they are now. */
function buildIsCurrent() {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === sourceFingerprint();
}

/**
 * Runs `npm run build` when dist/ is not current; resolves to its exit status (0 when nothing was
 * needed). A SIGINT or SIGTERM meanwhile stops the build too.
 */
function buildIfChanged(who) {
  if (buildIsCurrent()) {
    console.log(`${who}: dist/ is current with the sources; not rebuilding`);
    return Promise.resolve(0);
  }
  console.log(`${who}: the sources changed since the last build (or dist/ is missing); npm run build`);
  // Under npm, the npm that runs us (npm_execpath); run directly, the npm on the PATH.
  const npm = process.env.npm_execpath;
  const child = npm
    ? spawn(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
    : spawn('npm', ['run', 'build'], { stdio: 'inherit' });
  const stop = (signal) => child.kill(signal);
  process.on('SIGINT', stop).on('SIGTERM', stop);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
    child.once('error', (e) => {
      console.error(`${who}: cannot run npm run build: ${e.message}`);
      resolve(1);
    });
  });
}

module.exports = { sourceFingerprint, buildIsCurrent, buildIfChanged };

if (require.main === module) {
  if (process.argv.includes('--build-if-changed')) void buildIfChanged('build').then((code) => (process.exitCode = code));
  else writeFileSync(STAMP, `${sourceFingerprint()}\n`);
}
