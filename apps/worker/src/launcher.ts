/**
 * Worker launcher: `node dist/apps/worker/src/launcher.js --devices cpu,cpu` (or RERANK_DEVICES).
 * Starts one worker process per listed device, splits RERANK_THREADS across CPU workers, restarts a
 * crashed worker with backoff, forwards SIGTERM/SIGINT, and serves /health on HEALTH_PORT (default 8081).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig, parseDevices, type RerankConfig, startHealthServer } from '@rerank/jobs';

const DEFAULT_HEALTH_PORT = 8081;
const STOP_TIMEOUT_MS = 60000;

interface Slot {
  device: string;
  threads: number;
  child: ChildProcess | null;
  ready: boolean;
  restarts: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

/** Threads per worker: CPU workers share the CPU threads; a GPU worker needs few. */
export function threadPlan(devices: readonly string[], total: number): number[] {
  const cpus = devices.filter((d) => d === 'cpu').length;
  const perCpu = cpus ? Math.max(1, Math.floor(total / cpus)) : 1;
  return devices.map((d) => (d === 'cpu' ? perCpu : Math.max(1, Math.min(2, total))));
}

/** Restart delay after `restarts` quick failures: 1 s, 2 s, 4 s, ... up to 30 s. */
export function restartDelay(restarts: number): number {
  return Math.min(30000, 1000 * 2 ** Math.max(0, restarts));
}

class Launcher {
  private readonly log = createLogger(`launcher pid ${process.pid}`);
  private readonly slots: Slot[];
  private stopping = false;

  constructor(config: RerankConfig, devices: string[]) {
    const threads = threadPlan(devices, config.threads);
    this.slots = devices.map((device, i) => ({ device, threads: threads[i], child: null, ready: false, restarts: 0, startedAt: 0, timer: null }));
  }

  start(): void {
    this.log.info(`starting ${this.slots.length} worker(s): ${this.slots.map((s) => `${s.device} (${s.threads} thread${s.threads > 1 ? 's' : ''})`).join(', ')}`);
    for (const slot of this.slots) this.spawn(slot);
  }

  private spawn(slot: Slot): void {
    slot.timer = null;
    if (this.stopping) return;
    const env: NodeJS.ProcessEnv = { ...process.env, RERANK_THREADS: String(slot.threads) };
    delete env.HEALTH_PORT;
    const child = fork(join(__dirname, 'main.js'), ['--device', slot.device], {
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its own process group: a terminal's Ctrl-C reaches the launcher only, which stops workers in order.
      detached: true,
    });
    slot.child = child;
    slot.ready = false;
    slot.startedAt = Date.now();
    this.log.info(`worker ${slot.device} started, pid ${child.pid}`);
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') {
        slot.ready = true;
        this.log.info(`worker ${slot.device} pid ${child.pid} ready`);
      }
    });
    child.on('exit', (code, signal) => {
      if (slot.child === child) {
        slot.child = null;
        slot.ready = false;
      }
      if (this.stopping) return;
      // A worker that ran a while before dying starts over at the shortest delay.
      if (Date.now() - slot.startedAt > 60000) slot.restarts = 0;
      const delay = restartDelay(slot.restarts++);
      this.log.warn(`worker ${slot.device} pid ${child.pid} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      slot.timer = setTimeout(() => this.spawn(slot), delay);
    });
  }

  async ready(): Promise<{ ok: boolean; workers: unknown[] }> {
    const workers = this.slots.map((s) => ({ device: s.device, pid: s.child?.pid ?? null, ready: s.ready, restarts: s.restarts }));
    return { ok: this.slots.every((s) => s.ready), workers };
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info(`${signal}: stopping ${this.slots.filter((s) => s.child).length} worker(s)`);
    await Promise.all(
      this.slots.map((slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        const child = slot.child;
        if (!child || child.exitCode !== null) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }),
    );
    this.log.info('all workers stopped');
  }
}

async function main(): Promise<void> {
  const log = createLogger(`launcher pid ${process.pid}`);
  const { values } = parseArgs({ options: { devices: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: node dist/apps/worker/src/launcher.js [--devices cpu,cuda:0,...]  (default RERANK_DEVICES, else cpu)');
    return;
  }
  let config: RerankConfig;
  let devices: string[];
  try {
    config = loadConfig(process.env, { requireModels: true });
    devices = config.devices;
    if (values.devices) {
      const parsed = parseDevices(values.devices);
      if (parsed.problems.length) throw new ConfigError(parsed.problems.map((p) => p.replace('RERANK_DEVICES', '--devices')));
      devices = parsed.devices;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const launcher = new Launcher(config, devices);
  const onSignal = (sig: NodeJS.Signals) => void launcher.stop(sig).then(() => process.exit(0));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  if (process.send) process.on('disconnect', () => onSignal('SIGTERM'));
  const port = config.healthPort ?? DEFAULT_HEALTH_PORT;
  if (port > 0) {
    try {
      await startHealthServer(port, () => launcher.ready(), (m) => log.info(m));
    } catch (e) {
      log.error(`health server on HEALTH_PORT=${port}: ${(e as Error).message}`);
      process.exit(1);
    }
  }
  launcher.start();
}

if (require.main === module) void main();
