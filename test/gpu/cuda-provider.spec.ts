/**
 * The CUDA provider assembled from PyPI by the real command (`npm run setup:gpu`: pinned wheels,
 * sha256-checked, cached in .cache/gpu), and what a machine without a GPU then says: the provider and
 * every CUDA library resolve beside onnxruntime-node with no LD_LIBRARY_PATH, only the driver's
 * libcuda.so.1 is missing, and a cuda:0 session fails with "no NVIDIA driver" in the engine, the
 * command and a worker, never a crash. On a machine with the driver and a GPU the same checks expect
 * cuda:0 to start and score as the CPU does.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DRIVER_LIBRARY,
  FlagReranker,
  GPU_LIBRARIES,
  ModelLoadError,
  onnxruntimeFolder,
  PROVIDER_LIBRARIES,
  PROVIDER_WHEEL,
  type CudaReport,
} from '@rerank/engine';
import { startProcess, type AppProcess } from '@rerank/harness';
import { removeTestModels, testEncoderDir } from '../support/model';
import { ENTRY, ROOT, spawnApp } from '../support/processes';
import { startRedis, type TestRedis } from '../support/redis-server';

jest.setTimeout(15 * 60 * 1000);

const HAS_DRIVER = existsSync('/proc/driver/nvidia/version');
/** How Node reaches PyPI from here (a TLS-inspecting proxy's CA, a proxy): passed on as a user's shell would. */
const NETWORK_VARS = [
  'NODE_EXTRA_CA_CERTS',
  'NODE_USE_SYSTEM_CA',
  'NODE_USE_ENV_PROXY',
  'HTTPS_PROXY',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
];
/** A process environment without LD_LIBRARY_PATH: the libraries must be found through the provider's own search path. */
const ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  ...Object.fromEntries(NETWORK_VARS.filter((v) => process.env[v] !== undefined).map((v) => [v, process.env[v] as string])),
};

async function run(name: string, command: string, args: string[]): Promise<{ code: number | null; signal: string | null; out: string }> {
  const p: AppProcess = startProcess({ name, command, args, env: ENV });
  const code = await p.exited;
  return { code, signal: p.proc.signalCode, out: p.output() };
}
const rerank = (...args: string[]) => run('rerank', process.execPath, [join(ROOT, 'bin/rerank.js'), ...args]);

describe('npm run setup:gpu', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
    removeTestModels();
  });

  beforeAll(async () => {
    const first = await run('setup:gpu', 'npm', ['--prefix', ROOT, 'run', 'setup:gpu']);
    if (first.code !== 0) throw new Error(`npm run setup:gpu failed:\n${first.out}`);
  });

  it('installs the pinned provider and CUDA libraries beside onnxruntime-node; a second run only links the cached ones', async () => {
    const { folder } = onnxruntimeFolder();
    for (const file of GPU_LIBRARIES) expect({ file, present: existsSync(join(folder, file)) }).toEqual({ file, present: true });
    const again = await run('setup:gpu', 'npm', ['--prefix', ROOT, 'run', 'setup:gpu']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/setup-gpu: the checked libraries are cached in .*\.cache\/gpu\//);
    expect(again.out).not.toMatch(/sha256 checked/);
    expect(again.out).toMatch(
      new RegExp(`setup-gpu: ${GPU_LIBRARIES.length} libraries \\(\\d+ MB\\) in ${folder.replace(/[/.]/g, '\\$&')}`),
    );
  });

  (HAS_DRIVER ? it.skip : it)('rerank doctor: every library resolves beside the provider; only the driver is missing', async () => {
    const { folder } = onnxruntimeFolder();
    const json = await rerank('doctor', '--json');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.out) as CudaReport;
    expect(report.onnxruntimeNode).toEqual({ version: PROVIDER_WHEEL.version, folder });
    expect(report.provider).toEqual(PROVIDER_LIBRARIES.map((file) => ({ file, found: true })));
    expect(report.installed?.provider).toBe(`onnxruntime-gpu ${PROVIDER_WHEEL.version}`);
    const cuda = GPU_LIBRARIES.filter((f) => !PROVIDER_LIBRARIES.includes(f));
    expect(report.libraries.filter((l) => l.path !== null).map((l) => [l.soname, l.path])).toEqual(
      expect.arrayContaining(cuda.map((soname) => [soname, join(folder, soname)])),
    );
    expect(report.libraries.filter((l) => l.path !== null)).toHaveLength(cuda.length);
    expect(report.libraries.filter((l) => l.path === null)).toEqual([{ soname: DRIVER_LIBRARY, path: null, neededBy: 'CUDA provider' }]);
    expect(report.driver).toEqual({ version: null, library: null });
    expect(report.gpus).toEqual([]);
    expect(report.problem).toMatch(/^no NVIDIA driver: libcuda\.so\.1, the driver's library, is not on this machine/);

    const text = await rerank('doctor');
    expect(text.code).toBe(1);
    expect(text.out).toMatch(/^ {2}found {4}libonnxruntime_providers_cuda\.so$/m);
    expect(text.out).toMatch(/^ {2}resolved libcudnn\.so\.9 +in the provider's folder$/m);
    expect(text.out).toMatch(/^ {2}missing {2}libcuda\.so\.1 +not found$/m);
    expect(text.out).toMatch(/^cuda sessions cannot start: no NVIDIA driver: libcuda\.so\.1/m);
  });

  (HAS_DRIVER ? it.skip : it)(
    'a cuda:0 session fails with "no NVIDIA driver" in the engine, the command and a worker, never a crash',
    async () => {
      const dir = await testEncoderDir();
      const noDriver =
        /cannot start .*model\.onnx on cuda:0: no NVIDIA driver: libcuda\.so\.1, the driver's library, is not on this machine/;

      const engine = new FlagReranker(dir, { devices: 'cuda:0' });
      const error = (await engine.computeScore(['what is ai', 'artificial intelligence']).catch((e: unknown) => e)) as Error;
      await engine.close();
      expect(error).toBeInstanceOf(ModelLoadError);
      expect(error.message).toMatch(noDriver);

      const input = join(dir, 'pairs.jsonl');
      writeFileSync(input, '{"query":"what is ai","passage":"artificial intelligence"}\n');
      const cli = await rerank('score', '--model', dir, '--devices', 'cuda:0', input);
      expect({ code: cli.code, signal: cli.signal }).toEqual({ code: 2, signal: null });
      expect(cli.out).toMatch(noDriver);

      redis = await startRedis();
      const worker = spawnApp('worker', { REDIS_URL: redis.url, RERANK_MODELS: `tiny=${dir}`, HEALTH_PORT: '0' }, ['--device', 'cuda:0']);
      expect(await worker.exited).toBe(1);
      expect(worker.proc.signalCode).toBeNull();
      expect(worker.output()).toMatch(noDriver);
      expect(existsSync(ENTRY.worker)).toBe(true);
    },
  );

  (HAS_DRIVER ? it : it.skip)('with the NVIDIA driver: doctor finds nothing missing, and cuda:0 scores as the CPU does', async () => {
    const doctor = await rerank('doctor');
    expect(doctor.code).toBe(0);
    const dir = await testEncoderDir();
    const pairs: [string, string][] = [
      ['what is ai', 'artificial intelligence'],
      ['what is ai', 'cooking recipes for italian pasta dishes'],
    ];
    const gpu = new FlagReranker(dir, { devices: 'cuda:0' });
    const cpu = new FlagReranker(dir, { devices: 'cpu' });
    try {
      const [g, c] = [await gpu.computeScore(pairs), await cpu.computeScore(pairs)];
      for (let i = 0; i < pairs.length; i++) expect(Math.abs(g[i] - c[i])).toBeLessThan(1e-4);
    } finally {
      await Promise.all([gpu.close(), cpu.close()]);
    }
  });
});
