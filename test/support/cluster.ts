/**
 * The job system as separate processes on one real Redis: API, aggregator and a worker launcher,
 * all from dist/. Short locks and stalled intervals so a killed worker's shard comes back in seconds.
 */
import { WorkersRegistry, type WorkerHeartbeat } from '@rerank/jobs';
import { ApiClient } from './http';
import { freePort } from '@rerank/jobs';
import { type AppProcess, spawnApp, waitFor, waitForHttp } from './processes';
import { startRedis, type TestRedis } from './redis-server';

export interface ClusterOptions {
  models: { name: string; path: string; family?: string }[];
  /** Devices of the launcher (none: no workers started). */
  devices?: string;
  env?: Record<string, string>;
  /** RERANK_MODELS of the workers when it differs from the API's. */
  workerModels?: { name: string; path: string; family?: string }[];
  /** 'default': the configured lock and stalled-check defaults instead of FAST_RECOVERY_ENV. */
  recovery?: 'fast' | 'default';
}

export const FAST_RECOVERY_ENV = {
  RERANK_LOCK_DURATION_MS: '3000',
  RERANK_STALLED_INTERVAL_MS: '1000',
};

export class Cluster {
  api!: AppProcess;
  aggregator!: AppProcess;
  launcher: AppProcess | undefined;
  client!: ApiClient;
  env!: Record<string, string>;

  constructor(
    readonly redis: TestRedis,
    private readonly options: ClusterOptions,
  ) {}

  static async start(options: ClusterOptions & { persistentRedis?: boolean }): Promise<Cluster> {
    const redis = await startRedis({ appendonly: options.persistentRedis });
    const c = new Cluster(redis, options);
    try {
      await c.boot();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  private async boot(): Promise<void> {
    const port = await freePort();
    this.env = {
      REDIS_URL: this.redis.url,
      RERANK_MODELS: JSON.stringify(this.options.models),
      PORT: String(port),
      HEALTH_PORT: '0',
      ...(this.options.recovery === 'default' ? {} : FAST_RECOVERY_ENV),
      ...this.options.env,
    };
    this.api = spawnApp('api', this.env);
    this.aggregator = spawnApp('aggregator', this.env);
    this.client = new ApiClient(`http://127.0.0.1:${port}`);
    await waitForHttp(`${this.client.base}/health/live`, 200, 30000, this.api);
    if (this.options.devices) await this.startWorkers(this.options.devices);
  }

  /** Starts the launcher with these devices and waits until each worker reports its models loaded. */
  async startWorkers(devices: string, extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const env = { ...this.env, ...extraEnv, ...(this.options.workerModels ? { RERANK_MODELS: JSON.stringify(this.options.workerModels) } : {}) };
    const launcher = spawnApp('launcher', env, ['--devices', devices]);
    this.launcher = launcher;
    const count = devices.split(',').length;
    await waitFor(`${count} worker(s) ready`, async () => ((await this.readyWorkers()).length >= count ? true : undefined), 60000, 200).catch((e: Error) => {
      throw new Error(`${e.message}\nlauncher output:\n${launcher.output().slice(-4000)}`);
    });
    return launcher;
  }

  /** A worker process of its own (no launcher, so no restart backoff), ready when this resolves. */
  async startWorker(extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const env = { ...this.env, ...extraEnv, ...(this.options.workerModels ? { RERANK_MODELS: JSON.stringify(this.options.workerModels) } : {}) };
    const worker = spawnApp('worker', env, ['--device', 'cpu']);
    await waitFor(`worker pid ${worker.proc.pid} ready`, async () => ((await this.readyWorkers()).some((w) => w.pid === worker.proc.pid) ? true : undefined), 60000, 100).catch((e: Error) => {
      throw new Error(`${e.message}\nworker output:\n${worker.output().slice(-4000)}`);
    });
    return worker;
  }

  /** A new API process (after the old one stopped or was killed), serving when this resolves. */
  async restartApi(): Promise<AppProcess> {
    await this.api.kill();
    this.api = spawnApp('api', this.env);
    await waitForHttp(`${this.client.base}/health/live`, 200, 30000, this.api);
    return this.api;
  }

  /** A new aggregator process (after the old one stopped or was killed). */
  async restartAggregator(): Promise<AppProcess> {
    await this.aggregator.kill();
    this.aggregator = spawnApp('aggregator', this.env);
    return this.aggregator;
  }

  async stopWorkers(): Promise<void> {
    await this.launcher?.stop();
    this.launcher = undefined;
    // Heartbeats of stopped workers are removed on a clean stop.
    await waitFor('workers gone', async () => ((await this.readyWorkers()).length === 0 ? true : undefined), 20000);
  }

  async readyWorkers(): Promise<WorkerHeartbeat[]> {
    return (await new WorkersRegistry(this.redis.client).live()).filter((w) => w.state === 'ready');
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.launcher?.stop(), this.api?.stop(), this.aggregator?.stop()]);
    await this.redis.stop();
  }

  /** Redis keys of jobs and idempotency records, and BullMQ job counts (what "nothing stored" checks). */
  async footprint(): Promise<{ keys: string[]; counts: Record<string, number> }> {
    const keys = (await this.redis.client.keys('rerank:*')).filter((k) => !/stalled-check|^rerank:worker|:events$|:meta$|:id$|:marker$/.test(k)).sort();
    return { keys, counts: { shards: await this.redis.client.zcard('rerank:q:shards:prioritized'), wait: await this.redis.client.llen('rerank:q:shards:wait') } };
  }
}
