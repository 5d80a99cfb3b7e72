/**
 * `npm start`: the whole service on one machine. Starts redis-server when REDIS_URL is unset
 * (append-only persistence under <RERANK_DATA_DIR>/redis), serves a generated test model when
 * RERANK_MODELS is unset, then the API, the aggregator and the worker launcher. Once the API is up,
 * a crashed API, aggregator or launcher is restarted with backoff (as the launcher restarts its
 * workers); before that, a crash stops the stack (a port taken, bad configuration). Ctrl-C / SIGTERM
 * stops everything it started, Redis last.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, type RedisServer, spawnProcess, startRedisServer, Supervisor, waitForHttp } from '@rerank/harness';
import { makeTestModel } from '@rerank/model-gen';
import { createLogger, isLoopbackHost, loadConfigOrExit, localUrl } from '@rerank/jobs';

const log = createLogger('stack');
const GENERATED_MODEL_NAME = 'generated-test-reranker';
const STOP_TIMEOUT_MS = 60000;

const supervised: Supervisor[] = [];
let redis: RedisServer | undefined;
let shuttingDown: Promise<void> | undefined;
/** Aborted by shutdown: ends the waits for the API. */
const stopping = new AbortController();
/** Set once the API answered: from then on crashed processes are restarted instead of stopping the stack. */
let up = false;

/**
 * An app process, its lines prefixed by its name, restarted with backoff once the stack is up. IPC
 * channel: it stops when the stack goes away; its own process group: Ctrl-C reaches the stack only.
 */
function supervise(name: string, script: string, env: NodeJS.ProcessEnv): Supervisor {
  const s = new Supervisor({
    name,
    log,
    stopTimeoutMs: STOP_TIMEOUT_MS,
    spawn: () => spawnProcess({ name, command: process.execPath, args: [script], env, output: 'prefix', ipc: true, detached: true }),
    shouldRestart: () => up && !shuttingDown,
    onGiveUp: (exit) => {
      if (shuttingDown) return;
      log.error(`${name} exited unexpectedly (${exit.signal ?? `code ${exit.code}`}) while the stack was starting; stopping the stack`);
      void shutdown(1);
    },
  });
  supervised.push(s);
  s.start();
  return s;
}

async function shutdown(code: number): Promise<void> {
  shuttingDown ??= (async () => {
    stopping.abort();
    log.info('stopping API, aggregator and workers');
    await Promise.all(supervised.map((s) => s.stop()));
    if (redis) {
      log.info('stopping redis-server (append-only file flushed on shutdown)');
      await redis.stop();
    }
    log.info('stopped');
    process.exit(code);
  })();
  return shuttingDown;
}

/** redis-server with AOF under the data dir; not restarted: its unexpected exit stops the stack. */
async function startRedis(dataDir: string, port: number, maxmemory: string): Promise<string> {
  const dir = join(dataDir, 'redis');
  // Bounded memory (RERANK_REDIS_MAXMEMORY) with noeviction: BullMQ must never lose keys; the API refuses work before it is full.
  redis = await startRedisServer({ port, dir, persistence: 'aof-everysec', maxmemory, output: 'prefix', stopTimeoutMs: STOP_TIMEOUT_MS });
  const proc = redis.process;
  void proc.exited.then((code) => {
    if (shuttingDown) return;
    log.error(`redis exited unexpectedly (code ${code}); stopping the stack`);
    void shutdown(1);
  });
  log.info(`redis-server on ${redis.url}, append-only persistence in ${dir}, maxmemory ${maxmemory} (RERANK_REDIS_MAXMEMORY)`);
  return redis.url;
}

async function generatedModel(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'models', GENERATED_MODEL_NAME);
  if (!existsSync(join(dir, 'reranker.json')) || !existsSync(join(dir, 'onnx', 'model.onnx'))) {
    await makeTestModel({ family: 'encoder', outDir: dir, preset: 'tiny', seed: 1 });
    log.info(`generated a test model in ${dir}`);
  }
  const bar = '!'.repeat(100);
  log.warn(bar);
  log.warn(`RERANK_MODELS is not set: serving "${GENERATED_MODEL_NAME}", a GENERATED TEST MODEL with random weights (${dir}).`);
  log.warn('Its scores mean nothing; it is there to try the service out. Set RERANK_MODELS to serve a real reranker,');
  log.warn('e.g. RERANK_MODELS=bge=BAAI/bge-reranker-base (exported to ONNX, see docs) or a model directory.');
  log.warn(bar);
  return JSON.stringify([{ name: GENERATED_MODEL_NAME, path: dir, family: 'encoder', generated: true }]);
}

/** Whether `url` answered the status before the timeout (false too when the stack is shutting down). */
async function answers(url: string, status: number, timeoutMs: number): Promise<boolean> {
  try {
    await waitForHttp(url, { status, timeoutMs, everyMs: 250, signal: stopping.signal });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'redis-port': { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(
      'usage: npm start [-- --host ADDRESS]  (node dist/apps/stack/src/main.js [--host ADDRESS] [--redis-port N])\n' +
        'Environment: see the README (REDIS_URL, RERANK_MODELS, RERANK_DEVICES, PORT, RERANK_HOST, ...).',
    );
    return;
  }
  const config = loadConfigOrExit(log);
  const host = values.host ?? config.api.host;
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const env: NodeJS.ProcessEnv = { ...process.env, ...(values.host === undefined ? {} : { RERANK_HOST: values.host }) };
  if (!config.redis.fromEnv) {
    const port = values['redis-port'] ? Number(values['redis-port']) : await freePort();
    env.REDIS_URL = await startRedis(config.data.dir, port, config.stack.redisMaxmemory);
  }
  if (!config.models.fromEnv) env.RERANK_MODELS = await generatedModel(config.data.dir);
  // One HEALTH_PORT for two processes: the launcher takes it, the aggregator the next one; unset, neither serves health here.
  const health = config.observability.healthPort;
  const dist = join(__dirname, '..', '..');
  supervise('api', join(dist, 'api', 'src', 'main.js'), env);
  supervise('aggregator', join(dist, 'aggregator', 'src', 'main.js'), { ...env, HEALTH_PORT: health ? String(health + 1) : '0' });
  supervise('workers', join(dist, 'worker', 'src', 'launcher.js'), { ...env, HEALTH_PORT: health ? String(health) : '0' });

  // Until the API answers, any exit stops the stack (onGiveUp sets shuttingDown, which ends the wait).
  const base = localUrl(host, config.api.port);
  if (!(await answers(`${base}/health/live`, 200, 60000))) {
    if (!shuttingDown) log.error('the API did not come up; stopping');
    return shutdown(1);
  }
  up = true;
  if (await answers(`${base}/health/ready`, 200, 300000)) {
    const reach = host !== undefined && isLoopbackHost(host) ? 'this machine only' : `listening on ${host ?? 'every interface'}`;
    log.info(
      `ready: ${base} (${reach}; API docs at /docs), devices ${config.worker.devices.map((d) => d.device).join(', ')}; Ctrl-C stops everything`,
    );
  }
}

void main().catch((e: Error) => {
  log.error(e.stack ?? e.message);
  void shutdown(1);
});
