/**
 * Worker launcher: `node dist/apps/worker/src/launcher.js --devices cpu,cpu` (or RERANK_DEVICES).
 * Starts one worker process per listed device, splits RERANK_THREADS across CPU workers, restarts a
 * crashed worker with backoff, forwards SIGTERM/SIGINT, and serves /health and its workers' /metrics
 * on HEALTH_PORT (default 8081). Model placement per device: `--devices cuda:0=llm,cuda:1=minilm+bge`
 * gives each worker its own RERANK_WORKER_MODELS; a device without `=` keeps the launcher's.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnProcess, Supervisor } from '@rerank/harness';
import { launcherMetrics } from './worker-metrics';
import {
  checkSlotModels,
  ConfigError,
  createLogger,
  type DeviceSlot,
  loadConfig,
  parseDevices,
  type RerankConfig,
  startHealthServer,
} from '@rerank/jobs';

export { restartDelay } from '@rerank/harness';

const DEFAULT_HEALTH_PORT = 8081;
const STOP_TIMEOUT_MS = 60000;

interface Slot {
  device: string;
  /** The models this worker serves: its device entry's, else RERANK_WORKER_MODELS. */
  models: string[];
  /** True when the device entry named them (`cuda:0=a+b`). */
  placed: boolean;
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

  constructor(config: Pick<RerankConfig, 'worker'>, devices: DeviceSlot[]) {
    const threads = threadPlan(
      devices.map((d) => d.device),
      config.worker.threads,
    );
    this.slots = devices.map(({ device, models }, i) => {
      const slot: Slot = {
        device,
        models: models ?? config.worker.models,
        placed: models !== undefined,
        threads: threads[i],
        ready: false,
        supervisor: new Supervisor({
          name: `worker ${device}`,
          log: this.log,
          stopTimeoutMs: STOP_TIMEOUT_MS,
          spawn: () => this.fork(device, threads[i], models),
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
      `starting ${this.slots.length} worker(s): ${this.slots.map((s) => `${s.device}${s.placed ? `=${s.models.join('+')}` : ''} (${s.threads} thread${s.threads > 1 ? 's' : ''})`).join(', ')}`,
    );
    for (const slot of this.slots) slot.supervisor.start();
  }

  private fork(device: string, threads: number, models: string[] | undefined) {
    const env: NodeJS.ProcessEnv = { ...process.env, RERANK_THREADS: String(threads) };
    // Placement per device: this worker's own models (else the launcher's RERANK_WORKER_MODELS).
    if (models) env.RERANK_WORKER_MODELS = models.join(',');
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
      models: s.models,
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
    console.log(
      'usage: node dist/apps/worker/src/launcher.js [--devices cpu,cuda:0,...]  (default RERANK_DEVICES, else cpu)\n' +
        '  a device may name its models: --devices cuda:0=llm,cuda:1=minilm+bge (names of RERANK_MODELS; without =, RERANK_WORKER_MODELS)',
    );
    return;
  }
  let config: RerankConfig;
  let devices: DeviceSlot[];
  try {
    config = loadConfig(process.env, { requireModels: true });
    devices = config.worker.devices;
    if (values.devices) {
      const parsed = parseDevices(values.devices, '--devices');
      const problems = [...parsed.problems, ...checkSlotModels(parsed.slots, config.models.list, '--devices')];
      if (problems.length) throw new ConfigError(problems);
      devices = parsed.slots;
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
  const port = config.observability.healthPort ?? DEFAULT_HEALTH_PORT;
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
