/**
 * `npm start`: the whole service on one machine. Starts redis-server when REDIS_URL is unset
 * (append-only persistence under <RERANK_DATA_DIR>/redis), serves a generated test model when
 * RERANK_MODELS is unset, then the API, the aggregator and the worker launcher. Once the API is up,
 * a crashed API, aggregator or launcher is restarted with backoff (as the launcher restarts its
 * workers); before that, a crash stops the stack (a port taken, bad configuration). Ctrl-C / SIGTERM
 * stops everything it started, Redis last.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { makeTestModel } from '@rerank/model-gen';
import { createLogger, createRedis, freePort, loadConfigOrExit, Supervisor, waitForRedis } from '@rerank/jobs';

const log = createLogger('stack');
const GENERATED_MODEL_NAME = 'generated-test-reranker';
const STOP_TIMEOUT_MS = 60000;

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  expectedExit: boolean;
}

const supervised: Supervisor[] = [];
let redisChild: Child | undefined;
let shuttingDown: Promise<void> | undefined;
/** Set once the API answered: from then on crashed processes are restarted instead of stopping the stack. */
let up = false;

/** Starts a process with its lines prefixed by its name; its own process group, so Ctrl-C reaches the stack only. */
function spawnPrefixed(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, ipc: boolean): ChildProcess {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])], detached: true });
  const prefix = `[${name}] `;
  createInterface({ input: proc.stdout! }).on('line', (l) => process.stdout.write(prefix + l + '\n'));
  createInterface({ input: proc.stderr! }).on('line', (l) => process.stderr.write(prefix + l + '\n'));
  return proc;
}

/** redis-server: not restarted; its unexpected exit stops the stack. */
function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawnPrefixed(name, command, args, env, false);
  const child: Child = {
    name,
    proc,
    expectedExit: false,
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)))),
  };
  proc.once('error', (e) => log.error(`${name}: ${e.message}`));
  void child.exited.then((code) => {
    if (!child.expectedExit && !shuttingDown) {
      log.error(`${name} exited unexpectedly (code ${code}); stopping the stack`);
      void shutdown(1);
    }
  });
  return child;
}

/** An app process (IPC channel: it stops when the stack goes away), restarted with backoff once the stack is up. */
function supervise(name: string, script: string, env: NodeJS.ProcessEnv): Supervisor {
  const s = new Supervisor({
    name,
    log,
    stopTimeoutMs: STOP_TIMEOUT_MS,
    spawn: () => spawnPrefixed(name, process.execPath, [script], env, true),
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

async function stopChild(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  c.expectedExit = true;
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  c.proc.kill(signal);
  await c.exited;
  clearTimeout(timer);
}

async function shutdown(code: number): Promise<void> {
  shuttingDown ??= (async () => {
    log.info('stopping API, aggregator and workers');
    await Promise.all(supervised.map((s) => s.stop()));
    if (redisChild) {
      log.info('stopping redis-server (append-only file flushed on shutdown)');
      await stopChild(redisChild);
    }
    log.info('stopped');
    process.exit(code);
  })();
  return shuttingDown;
}

async function startRedis(dataDir: string, port: number, maxmemory: string): Promise<string> {
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  // Bounded memory (RERANK_REDIS_MAXMEMORY) with noeviction: BullMQ must never lose keys; the API refuses work before it is full.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory', maxmemory, '--maxmemory-policy', 'noeviction', '--daemonize', 'no'];
  redisChild = start('redis', 'redis-server', args, process.env);
  const url = `redis://127.0.0.1:${port}`;
  const client = createRedis(url, { name: 'rerank-stack' });
  client.on('error', () => undefined);
  try {
    await Promise.race([
      waitForRedis(client, 15000),
      redisChild.exited.then((c) => {
        throw new Error(`redis-server exited with code ${c} (is redis-server installed and port ${port} free?)`);
      }),
    ]);
  } finally {
    client.disconnect();
  }
  log.info(`redis-server on ${url}, append-only persistence in ${dir}, maxmemory ${maxmemory} (RERANK_REDIS_MAXMEMORY)`);
  return url;
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

async function waitHttp(url: string, until: (status: number) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !shuttingDown) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (until(r.status)) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'redis-port': { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: npm start  (node dist/apps/stack/src/main.js [--redis-port N])\nEnvironment: see the README (REDIS_URL, RERANK_MODELS, RERANK_DEVICES, PORT, ...).');
    return;
  }
  const config = loadConfigOrExit(log);
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!config.redisUrlFromEnv) {
    const port = values['redis-port'] ? Number(values['redis-port']) : await freePort();
    env.REDIS_URL = await startRedis(config.dataDir, port, config.redisMaxmemory);
  }
  if (!config.modelsFromEnv) env.RERANK_MODELS = await generatedModel(config.dataDir);
  // One HEALTH_PORT for two processes: the launcher takes it, the aggregator the next one; unset, neither serves health here.
  const health = config.healthPort;
  const dist = join(__dirname, '..', '..');
  supervise('api', join(dist, 'api', 'src', 'main.js'), env);
  supervise('aggregator', join(dist, 'aggregator', 'src', 'main.js'), { ...env, HEALTH_PORT: health ? String(health + 1) : '0' });
  supervise('workers', join(dist, 'worker', 'src', 'launcher.js'), { ...env, HEALTH_PORT: health ? String(health) : '0' });

  // Until the API answers, any exit stops the stack (onGiveUp sets shuttingDown, which ends the wait).
  const base = `http://127.0.0.1:${config.port}`;
  if (!(await waitHttp(`${base}/health/live`, (s) => s === 200, 60000))) {
    if (!shuttingDown) log.error('the API did not come up; stopping');
    return shutdown(1);
  }
  up = true;
  if (await waitHttp(`${base}/health/ready`, (s) => s === 200, 300000)) {
    log.info(`ready: http://localhost:${config.port} (API docs at /docs), devices ${config.devices.join(', ')}; Ctrl-C stops everything`);
  }
}

void main().catch((e: Error) => {
  log.error(e.stack ?? e.message);
  void shutdown(1);
});
