/**
 * What a `cuda:N` session needs on this machine, checked without starting one: onnxruntime's CUDA
 * provider beside onnxruntime-node's own library, every library it loads (found by the dynamic loader
 * as a process would: `ldd`, LD_LIBRARY_PATH, the loader cache), the NVIDIA driver and the GPUs it
 * shows. `rerank doctor` prints it; a `cuda:N` session that fails to start is explained with it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GPU_LIBRARIES, PROVIDER_CUDA_VERSION, PROVIDER_LIBRARIES, PROVIDER_WHEEL } from './cuda-wheels';

const NVRTC_BUILTINS = /^libnvrtc-builtins\.so\.\d+\.\d+$/;

/** The driver's library: never installed by setup-gpu, it comes with the NVIDIA driver. */
export const DRIVER_LIBRARY = 'libcuda.so.1';

export interface ResolvedLibrary {
  soname: string;
  /** Where the loader finds it; null: not found. */
  path: string | null;
  /** Why it is needed: `CUDA provider` or the library that links it. */
  neededBy: string;
}

export interface Gpu {
  index: number;
  name: string;
  memory?: string;
}

export interface CudaReport {
  onnxruntimeNode: { version: string; folder: string };
  /** The provider's libraries in onnxruntime-node's folder (where onnxruntime loads providers from). */
  provider: { file: string; found: boolean }[];
  /** What the provider was installed from, when `rerank setup-gpu` installed it. */
  installed?: InstalledProvider;
  /** Every library the provider needs, then every other dependency of those that the loader does not find. */
  libraries: ResolvedLibrary[];
  driver: { version: string | null; library: string | null };
  gpus: Gpu[];
  /** Where the GPU list comes from. */
  gpuSource: 'nvidia-smi' | '/proc/driver/nvidia/gpus' | 'none';
  /** Why a `cuda:N` session cannot start here, with the fix; undefined when nothing stands in the way. */
  problem?: string;
}

/** The record `rerank setup-gpu` leaves in the provider folder. */
export interface InstalledProvider {
  provider: string;
  cuda: string;
  wheels: string[];
}
export const INSTALL_RECORD = 'rerank-gpu.json';

/** onnxruntime-node's native folder (its binding and libonnxruntime.so.1): onnxruntime loads providers from it. */
export function onnxruntimeFolder(): { version: string; folder: string } {
  const pkg = require.resolve('onnxruntime-node/package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  return { version, folder: join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch) };
}

/** `ldd <file>`: each dependency and where the loader finds it (null: not found). */
function ldd(file: string): Map<string, string | null> {
  const deps = new Map<string, string | null>();
  let out: string;
  try {
    out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+) => (?:not found|(\S+))/.exec(line);
    if (m) deps.set(m[1], m[2] ?? null);
  }
  return deps;
}

/** The loader cache's entries (`ldconfig -p`): soname → path, the first of each. */
function loaderCache(): Map<string, string> {
  const cache = new Map<string, string>();
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const out = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const line of out.split('\n')) {
        const m = /^\s*(\S+) \(([^)]*)\) => (\S+)/.exec(line);
        if (m && m[2].includes('x86-64') === (process.arch === 'x64') && !cache.has(m[1])) cache.set(m[1], m[3]);
      }
      return cache;
    } catch {
      // not at this path
    }
  }
  return cache;
}

/** Where the loader finds `soname` opened by a library whose RUNPATH is `folder` ($ORIGIN): there, LD_LIBRARY_PATH, the cache. */
function locate(soname: string, cache: Map<string, string>, folder?: string): string | null {
  const dirs = [...(folder ? [folder] : []), ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  for (const dir of dirs) if (existsSync(join(dir, soname))) return join(dir, soname);
  return cache.get(soname) ?? null;
}

function driverVersion(): string | null {
  try {
    const line = readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0];
    return /Kernel Module\s+(\S+)/.exec(line)?.[1] ?? line.trim();
  } catch {
    return null;
  }
}

function listGpus(): { gpus: Gpu[]; source: CudaReport['gpuSource'] } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20000,
    });
    const gpus = out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [index, name, memory] = l.split(',').map((s) => s.trim());
        return { index: Number(index), name, memory };
      });
    return { gpus, source: 'nvidia-smi' };
  } catch {
    // no nvidia-smi, or it failed: the kernel module's list
  }
  const dir = '/proc/driver/nvidia/gpus';
  if (!existsSync(dir)) return { gpus: [], source: 'none' };
  const gpus = readdirSync(dir)
    .sort()
    .map((bus, index) => {
      let name = bus;
      try {
        name = /Model:\s*(.+)/.exec(readFileSync(join(dir, bus, 'information'), 'utf8'))?.[1]?.trim() ?? bus;
      } catch {
        // unreadable: the bus id names it
      }
      return { index, name };
    });
  return { gpus, source: '/proc/driver/nvidia/gpus' };
}

function readInstalled(folder: string): InstalledProvider | undefined {
  try {
    return JSON.parse(readFileSync(join(folder, INSTALL_RECORD), 'utf8')) as InstalledProvider;
  } catch {
    return undefined;
  }
}

/** Why `cuda:N` sessions cannot start, with the fix; undefined when nothing stands in the way. */
function problemOf(report: Omit<CudaReport, 'problem'>): string | undefined {
  const { folder } = report.onnxruntimeNode;
  if (report.provider.some((p) => !p.found))
    return `the CUDA execution provider is not installed beside onnxruntime-node (${folder}): run \`npm run setup:gpu\` in this repository (\`npx rerank setup-gpu\` in a project that installed the package); docs/gpu.md`;
  const missing = report.libraries.filter((l) => l.path === null).map((l) => l.soname);
  const other = missing.filter((s) => s !== DRIVER_LIBRARY);
  if (other.length)
    return `CUDA libraries not found: ${other.join(', ')}: run \`npm run setup:gpu\` (\`npx rerank setup-gpu\`) again; \`rerank doctor\` shows each library`;
  if (missing.includes(DRIVER_LIBRARY) || report.driver.library === null)
    return `no NVIDIA driver: ${DRIVER_LIBRARY}, the driver's library, is not on this machine; install the NVIDIA driver (580 or newer for CUDA ${PROVIDER_CUDA_VERSION}), or in a container run it with the GPU runtime (docker run --gpus ...); \`rerank doctor\` shows what is there`;
  if (report.gpus.length === 0)
    return 'no GPU visible: the NVIDIA driver is there but shows no GPU (nvidia-smi; check CUDA_VISIBLE_DEVICES and, in a container, the GPUs it was given)';
  return undefined;
}

/** Checks the CUDA provider, its libraries, the driver and the GPUs on this machine (a few `ldd` runs). */
export function inspectCuda(): CudaReport {
  const ort = onnxruntimeFolder();
  const { folder } = ort;
  const provider = PROVIDER_LIBRARIES.map((file) => ({ file, found: existsSync(join(folder, file)) }));
  const cache = loaderCache();
  const libraries: ResolvedLibrary[] = [];
  const seen = new Set<string>();
  const add = (soname: string, path: string | null, neededBy: string) => {
    if (seen.has(soname)) return;
    seen.add(soname);
    libraries.push({ soname, path, neededBy });
  };
  // NVRTC opens its builtins library, named for its own minor version, from its own folder.
  const wanted = GPU_LIBRARIES.filter((f) => !PROVIDER_LIBRARIES.includes(f) && !NVRTC_BUILTINS.test(f));
  if (provider.every((p) => p.found)) {
    // What the provider links (its RUNPATH included), then what it opens at run time.
    const providerPath = join(folder, PROVIDER_LIBRARIES[PROVIDER_LIBRARIES.length - 1]);
    for (const [soname, path] of ldd(providerPath))
      if (wanted.includes(soname) || soname === DRIVER_LIBRARY || path === null) add(soname, path, 'CUDA provider');
    for (const soname of wanted) add(soname, locate(soname, cache, folder), 'CUDA provider');
    const nvrtc = libraries.find((l) => l.soname.startsWith('libnvrtc.so.'))?.path;
    if (nvrtc) {
      const builtins = readdirSync(dirname(nvrtc)).find((f) => NVRTC_BUILTINS.test(f));
      add(builtins ?? 'libnvrtc-builtins.so.*', builtins ? join(dirname(nvrtc), builtins) : null, 'libnvrtc.so.13');
    }
    // Each found library's own dependencies, where the loader misses one (the driver's, say).
    for (const lib of [...libraries]) {
      if (!lib.path || lib.soname === DRIVER_LIBRARY) continue;
      for (const [soname, path] of ldd(lib.path)) if (path === null) add(soname, null, lib.soname);
    }
  }
  const library = libraries.find((l) => l.soname === DRIVER_LIBRARY)?.path ?? locate(DRIVER_LIBRARY, cache);
  const { gpus, source } = listGpus();
  const report = {
    onnxruntimeNode: ort,
    provider,
    installed: readInstalled(folder),
    libraries,
    driver: { version: driverVersion(), library },
    gpus,
    gpuSource: source,
  };
  return { ...report, problem: problemOf(report) };
}

/** The provider wheel setup-gpu installs for this onnxruntime-node, or why there is none. */
export function providerWheelProblem(): string | undefined {
  const { version } = onnxruntimeFolder();
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `the CUDA provider wheels are pinned for Linux x86-64; this is ${process.platform}/${process.arch}`;
  if (version !== PROVIDER_WHEEL.version)
    return `onnxruntime-node is ${version} but the pinned ${PROVIDER_WHEEL.name} wheel is ${PROVIDER_WHEEL.version}: a provider runs only with the onnxruntime it was built with; pin ${PROVIDER_WHEEL.name} ${version} and its CUDA libraries in libs/engine/src/runtime/cuda-wheels.ts`;
  return undefined;
}
