/**
 * The package as library consumers get it: `npm pack` of this repository (dist/ as built by
 * `npm run build`), installed into a fresh project the way the README says (CPU:
 * ONNXRUNTIME_NODE_INSTALL=skip), then the engine and the client imported from it and its `rerank`
 * command run; and `npx rerank` here prints no npm warning.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagReranker } from '@rerank/engine';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rerank-consumer-'));

/** The environment of a user's shell: none of the npm_* variables of the `npm test` that runs jest. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'ONNXRUNTIME_NODE_INSTALL') env[k] = v;
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: SpawnSyncOptions) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), error: r.error };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('npx rerank in this repository prints no npm warning', () => {
  const r = run('npx', ['--no-install', 'rerank', '--help'], { cwd: ROOT, env: userEnv() });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^rerank: FlagEmbedding-compatible rerankers/);
  expect(r.stderr).toBe('');
});

it('installs from its packed tarball on a CPU machine; the engine, the client and the command work from it', async () => {
  const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env: userEnv() });
  expect(packed.status).toBe(0);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz')) as string;
  expect(tarball).toMatch(/^rerank-service-[\d.]+\.tgz$/);

  const consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The README's command for CPU machines.
  const installed = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], {
    cwd: consumer,
    env: userEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' }),
  });
  expect({ status: installed.status, stderr: installed.status === 0 ? '' : installed.stderr }).toEqual({ status: 0, stderr: '' });
  expect(installed.stderr).not.toMatch(/Unknown (project|env) config/);

  const made = run(
    'npx',
    ['--no-install', 'rerank', 'make-test-model', '--family', 'encoder', '--out', join(dir, 'model'), '--seed', '3'],
    { cwd: consumer, env: userEnv() },
  );
  expect(made.stderr).toBe('');
  expect(made.status).toBe(0);

  const script = `
    const { FlagReranker } = require('rerank-service');
    const { RerankClient, verifyWebhookSignature } = require('rerank-service/dist/libs/client/src');
    (async () => {
      const r = new FlagReranker(${JSON.stringify(join(dir, 'model'))}, { devices: ['cpu'] });
      const scores = await r.computeScore([['what is ai', 'artificial intelligence'], ['what is ai', 'pasta recipes']]);
      await r.close();
      new RerankClient({ baseUrl: 'http://localhost:3000' });
      console.log(JSON.stringify({ scores, client: typeof RerankClient, verify: typeof verifyWebhookSignature }));
    })();`;
  const used = run(process.execPath, ['-e', script], { cwd: consumer, env: userEnv() });
  expect(used.stderr).toBe('');
  const here = new FlagReranker(join(dir, 'model'), { devices: ['cpu'] });
  const expected = await here.computeScore([
    ['what is ai', 'artificial intelligence'],
    ['what is ai', 'pasta recipes'],
  ]);
  await here.close();
  expect(JSON.parse(used.stdout)).toEqual({ scores: expected, client: 'function', verify: 'function' });
});
