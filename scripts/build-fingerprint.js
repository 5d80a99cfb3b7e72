#!/usr/bin/env node
// What dist/ was built from: a hash of the build's inputs (every file under apps/, libs/ and bench/,
// the tsconfig files, the asset copier and package-lock.json), each by path, size and modification
// time. `npm run build` writes it last (dist/.build-fingerprint); `npm start` (scripts/start.js)
// rebuilds only when the sources no longer match it. Statting ~500 files takes milliseconds.
const { createHash } = require('node:crypto');
const { existsSync, readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
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

module.exports = { sourceFingerprint, buildIsCurrent };

if (require.main === module) writeFileSync(STAMP, `${sourceFingerprint()}\n`);
