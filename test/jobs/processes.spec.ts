/**
 * The process shells: `npm start`'s stack (own redis-server with persistence, generated test model,
 * all apps, Ctrl-C), its failure exit code, and the health endpoints of the launcher and aggregator.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../support/http';
import { removeTestModels, testEncoderDir } from '../support/model';
import { freePort } from '@rerank/harness';
import { type AppProcess, spawnApp, waitFor, waitForHttp } from '../support/processes';
import { startRedis, type TestRedis } from '../support/redis-server';

jest.setTimeout(120000);

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });

describe('npm start (the stack)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rerank-stack-'));
  let stack: AppProcess | undefined;
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startStack(port: number, redisPort: number): Promise<AppProcess> {
    const p = spawnApp('stack', { RERANK_DATA_DIR: dataDir, PORT: String(port), RERANK_DEVICES: 'cpu', RERANK_THREADS: '1' }, [
      '--redis-port',
      String(redisPort),
    ]);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 200, 60000, p);
    return p;
  }

  it('starts Redis (append-only), a generated test model, API, aggregator and a worker; Ctrl-C stops all, Redis last', async () => {
    const port = await freePort();
    const redisPort = await freePort();
    stack = await startStack(port, redisPort);
    const out = stack.output();
    expect(out).toMatch(/GENERATED TEST MODEL/);
    expect(out).toMatch(/\[redis\] .*Ready to accept connections/);
    expect(out).toMatch(/\[api\] /);
    expect(out).toMatch(/\[workers\] .*ready: 1 model\(s\) on cpu/);
    expect(existsSync(join(dataDir, 'models', 'generated-test-reranker', 'onnx', 'model.onnx'))).toBe(true);
    expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);

    const api = new ApiClient(`http://127.0.0.1:${port}`);
    const models = await api.get('/v1/models');
    expect(models.body.data[0]).toMatchObject({ id: 'generated-test-reranker', generated_test_model: true, ready: true });
    const sync = await api.post('/v1/rerank', { query: 'hello', documents: ['hello world', 'bye'] });
    expect(sync.status).toBe(200);
    const created = await api.post('/v1/jobs', { query: 'hello', documents: ['hello world', 'bye', 'hi'] });
    expect((await api.waitJob(created.body.id, 30000)).status).toBe('completed');

    stack.proc.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    const log = stack.output();
    expect(log.indexOf('stopping redis-server')).toBeGreaterThan(log.indexOf('all workers stopped'));
    expect(await portOpen(port)).toBe(false);
    expect(await portOpen(redisPort)).toBe(false);

    // Again on the same data: the model is reused and the finished job survived in Redis's append-only file.
    stack = await startStack(port, redisPort);
    expect(stack.output()).not.toMatch(/generated a test model in/);
    const again = await api.get(`/v1/jobs/${created.body.id}`);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('completed');
    stack.proc.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    stack = undefined;
  });

  it('exits non-zero when a process dies at start-up (port taken), stopping what it started', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '0.0.0.0', () => r()));
    const redisPort = await freePort();
    try {
      const p = spawnApp('stack', { RERANK_DATA_DIR: dataDir, PORT: String(port), RERANK_DEVICES: 'cpu', RERANK_THREADS: '1' }, [
        '--redis-port',
        String(redisPort),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([p.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 60000)))]);
      clearTimeout(timer);
      if (code === 'timeout') await p.kill();
      expect(code).toBe(1);
      expect(p.output()).toMatch(/api exited unexpectedly/);
      expect(await portOpen(redisPort)).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

describe('health endpoints of the launcher and the aggregator', () => {
  let redis: TestRedis;
  const procs: AppProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await redis.stop();
    removeTestModels();
  });

  it('answers live / ready on HEALTH_PORT; the launcher is ready once its workers are', async () => {
    const dir = await testEncoderDir();
    const env = { REDIS_URL: redis.url, RERANK_MODELS: `tiny=${dir}` };
    const aggPort = await freePort();
    const aggregator = spawnApp('aggregator', { ...env, HEALTH_PORT: String(aggPort) });
    procs.push(aggregator);
    await waitForHttp(`http://127.0.0.1:${aggPort}/health/live`, 200, 20000, aggregator);
    await waitForHttp(`http://127.0.0.1:${aggPort}/health/ready`, 200, 20000, aggregator);

    const launchPort = await freePort();
    const launcher = spawnApp('launcher', { ...env, HEALTH_PORT: String(launchPort), RERANK_DEVICES: 'cpu,cpu', RERANK_THREADS: '2' });
    procs.push(launcher);
    await waitForHttp(`http://127.0.0.1:${launchPort}/health/live`, 200, 20000, launcher);
    await waitForHttp(`http://127.0.0.1:${launchPort}/health/ready`, 200, 30000, launcher);
    const ready = (await (await fetch(`http://127.0.0.1:${launchPort}/health/ready`)).json()) as { workers: { ready: boolean }[] };
    expect(ready.workers).toHaveLength(2);
    expect(ready.workers.every((w: { ready: boolean }) => w.ready)).toBe(true);
    expect(launcher.output()).toMatch(/cpu \(1 thread\), cpu \(1 thread\)/);

    // SIGTERM: workers stop cleanly, the launcher exits 0.
    expect(await launcher.stop()).toBe(0);
    expect(launcher.output()).toMatch(/all workers stopped/);
    await waitFor('heartbeats removed', async () => ((await redis.client.zcard('rerank:workers')) === 0 ? true : undefined), 5000);
  });

  it('refuses to start on bad configuration, naming the variable', async () => {
    const p = spawnApp('launcher', { REDIS_URL: redis.url, RERANK_MODELS: 'tiny=/x', RERANK_THREADS: 'many', HEALTH_PORT: '0' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/RERANK_THREADS=\\?"many\\?": expected an integer/);
    const api = spawnApp('api', { REDIS_URL: redis.url });
    expect(await api.exited).toBe(2);
    expect(api.output()).toMatch(/RERANK_MODELS: not set/);
  });
});
