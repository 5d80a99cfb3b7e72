/**
 * Worker launcher: `node dist/apps/worker/src/launcher.js --devices cpu,cpu` (or RERANK_DEVICES).
 * Starts one worker process per listed device, splits RERANK_THREADS across CPU workers, restarts a
 * crashed worker with backoff, forwards SIGTERM/SIGINT, and serves /health and its workers' /metrics
 * on HEALTH_PORT (default 8081).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnProcess, Supervisor } from '@rerank/harness';
import { launcherMetrics } from './worker-metrics';
import { ConfigError, createLogger, loadConfig, parseDevices, type RerankConfig, startHealthServer } from '@rerank/jobs';

export { restartDelay } from '@rerank/harness';

const DEFAULT_HEALTH_PORT = 8081;
const STOP_TIMEOUT_MS = 60000;

interface Slot {
  device: string;
  threads: number;
  supervisor: Supervisor;
  ready: boolean;
}

/** Threads per worker: CPU workers share the CPU threads; a GPU worker needs few. */
export function threadPlan(devices: readonly string[], total: number): number[] {
  const cpus = devices.filter((d) => d === 'cpu').length;
  const perCpu = cpus ? Math.max(1, Math.floor(total / cpus)) : 1;
  return devices.map((d) => (d === 'cpu' ? perCpu : Math.max(1, Math.min(2, total))));
}

class Launcher {
  private readonly log = createLogger('launcher');
  private readonly slots: Slot[];
  private stopping = false;

  constructor(config: RerankConfig, devices: string[]) {
    const threads = threadPlan(devices, config.threads);
    this.slots = devices.map((device, i) => {
      const slot: Slot = {
        device,
        threads: threads[i],
        ready: false,
        supervisor: new Supervisor({
          name: `worker ${device}`,
          log: this.log,
          stopTimeoutMs: STOP_TIMEOUT_MS,
          spawn: () => this.fork(device, threads[i]),
          onSpawn: (child) => {
            slot.ready = false;
            child.on('message', (m: { type?: string }) => {
              if (m?.type === 'ready') {
                slot.ready = true;
                this.log.info(`worker ${device} pid ${child.pid} ready`);
              }
            });
            // The next process starts after the restart delay, so this exit is the current one's.
            child.once('exit', () => (slot.ready = false));
          },
        }),
      };
      return slot;
    });
  }

  start(): void {
    this.log.info(
      `starting ${this.slots.length} worker(s): ${this.slots.map((s) => `${s.device} (${s.threads} thread${s.threads > 1 ? 's' : ''})`).join(', ')}`,
    );
    for (const slot of this.slots) slot.supervisor.start();
  }

  private fork(device: string, threads: number) {
    const env: NodeJS.ProcessEnv = { ...process.env, RERANK_THREADS: String(threads) };
    delete env.HEALTH_PORT;
    // Output passes through (a worker's log lines name it); IPC for the ready message; its own process
    // group, so a terminal's Ctrl-C reaches the launcher only, which stops workers in order.
    return spawnProcess({
      name: `worker ${device}`,
      command: process.execPath,
      args: [...process.execArgv, join(__dirname, 'main.js'), '--device', device],
      env,
      output: 'inherit',
      ipc: true,
      detached: true,
    });
  }

  ready(): Promise<{ ok: boolean; workers: unknown[] }> {
    const workers = this.slots.map((s) => ({
      device: s.device,
      pid: s.supervisor.pid ?? null,
      ready: s.ready,
      restarts: s.supervisor.restarts,
    }));
    return Promise.resolve({ ok: this.slots.every((s) => s.ready), workers });
  }

  /** Its workers' metrics, merged (worker-metrics.ts). */
  metrics(): Promise<{ contentType: string; text: string }> {
    return launcherMetrics(this.slots.map((s) => s.supervisor.child).filter((c): c is NonNullable<typeof c> => c !== null));
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info(`${signal}: stopping ${this.slots.filter((s) => s.supervisor.child).length} worker(s)`);
    await Promise.all(this.slots.map((slot) => slot.supervisor.stop()));
    this.log.info('all workers stopped');
  }
}

async function main(): Promise<void> {
  const log = createLogger('launcher');
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
      await startHealthServer(
        port,
        () => launcher.ready(),
        (m) => log.info(m),
        () => launcher.metrics(),
      );
    } catch (e) {
      log.error(`health server on HEALTH_PORT=${port}: ${(e as Error).message}`);
      process.exit(1);
    }
  }
  launcher.start();
}

if (require.main === module) void main();
