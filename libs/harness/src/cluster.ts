/**
 * The job system as separate processes on a redis-server of its own: API, aggregator and (when
 * asked) a worker launcher, all from dist/. The tests' Cluster and the bench's Stack extend it.
 */
import type { Redis } from 'ioredis';
import { createRedis, RedisWorkersRegistry, type WorkerHeartbeat } from '@rerank/jobs';
import { freePort } from './free-port';
import { spawnApp } from './apps';
import type { AppProcess } from './process';
import { type RedisServerOptions, startRedisServer, type RedisServer } from './redis-server';
import { ProcessExitedError, waitFor, waitForHttp } from './wait';

export interface ModelEntry {
  name: string;
  path: string;
  family?: string;
}

export interface ClusterOptions {
  /** RERANK_MODELS of every app. */
  models: ModelEntry[];
  /** Devices of a launcher started with the cluster, e.g. 'cpu,cpu' (none: no workers yet). */
  devices?: string;
  /** Extra environment of every app (it wins over the cluster's own). */
  env?: Record<string, string>;
  /** RERANK_MODELS of the workers when it differs from the API's. */
  workerModels?: ModelEntry[];
  redis?: Pick<RedisServerOptions, 'persistence' | 'maxmemory' | 'dir'>;
  /**
   * A Redis of the caller's for the apps (REDIS_URL: a Redis Cluster or Sentinel URL) instead of the
   * redis-server the cluster starts (which then only starts and stops with it).
   */
  redisUrl?: string;
  /** How long workers may take to load their models (default 120 s). */
  workerReadyTimeoutMs?: number;
}

/** Constructors of Cluster and its subclasses, for `start`. */
type ClusterClass<C extends Cluster, O> = new (options: O) => C;

export class Cluster {
  redis!: RedisServer;
  api!: AppProcess;
  aggregator!: AppProcess;
  launcher: AppProcess | undefined;
  /** The environment every app gets. */
  env!: Record<string, string>;
  /** The API's base URL, http://127.0.0.1:<port>. */
  base!: string;

  constructor(protected readonly options: ClusterOptions) {}

  /** redis-server, API and aggregator (and the launcher when `devices` is given), each ready; everything stopped again when one fails. */
  static async start<C extends Cluster, O>(this: ClusterClass<C, O>, options: O): Promise<C> {
    const cluster = new this(options);
    try {
      await cluster.boot();
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  protected async boot(): Promise<void> {
    this.redis = await startRedisServer(this.options.redis);
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    this.env = {
      REDIS_URL: this.options.redisUrl ?? this.redis.url,
      RERANK_MODELS: JSON.stringify(this.options.models),
      PORT: String(port),
      HEALTH_PORT: '0',
      ...this.options.env,
    };
    this.api = spawnApp('api', this.env);
    this.aggregator = spawnApp('aggregator', this.env);
    await waitForHttp(`${this.base}/health/live`, { process: this.api, timeoutMs: 30000 });
    await this.aggregatorReady();
    if (this.options.devices) await this.startWorkers(this.options.devices);
  }

  private workerEnv(extraEnv: Record<string, string>): Record<string, string> {
    return { ...this.env, ...extraEnv, ...(this.options.workerModels ? { RERANK_MODELS: JSON.stringify(this.options.workerModels) } : {}) };
  }

  /** Starts the launcher with these devices and waits until each worker reports its models loaded. */
  async startWorkers(devices: string | readonly string[], extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const list = typeof devices === 'string' ? devices.split(',') : [...devices];
    const launcher = spawnApp('launcher', this.workerEnv(extraEnv), ['--devices', list.join(',')]);
    this.launcher = launcher;
    await waitFor(
      `${list.length} worker(s) ready`,
      async () => {
        if (!launcher.running()) throw new ProcessExitedError(`the launcher exited (code ${await launcher.exited})`);
        return (await this.readyWorkers()).length >= list.length ? true : undefined;
      },
      this.options.workerReadyTimeoutMs ?? 120000,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nlauncher output:\n${launcher.output().slice(-4000)}`);
    });
    return launcher;
  }

  /** Workers of `startWorker`, stopped with the cluster. */
  private readonly ownWorkers: AppProcess[] = [];

  /** A worker process of its own (no launcher, so no restart backoff), ready when this resolves; `stop()` stops it too. */
  async startWorker(extraEnv: Record<string, string> = {}, device = 'cpu'): Promise<AppProcess> {
    const worker = spawnApp('worker', this.workerEnv(extraEnv), ['--device', device]);
    this.ownWorkers.push(worker);
    await waitFor(
      `worker pid ${worker.proc.pid} ready`,
      async () => {
        if (!worker.running()) throw new ProcessExitedError(`the worker exited (code ${await worker.exited})`);
        return (await this.readyWorkers()).some((w) => w.pid === worker.proc.pid) ? true : undefined;
      },
      this.options.workerReadyTimeoutMs ?? 120000,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nworker output:\n${worker.output().slice(-4000)}`);
    });
    return worker;
  }

  /** Stops the launcher (its workers stop cleanly and remove their heartbeats) and waits until no worker is live. */
  async stopWorkers(): Promise<void> {
    await this.launcher?.stop(60000);
    this.launcher = undefined;
    await waitFor('workers gone', async () => ((await this.workers()).length === 0 ? true : undefined), 20000);
  }

  /** A new API process (after the old one is killed), serving when this resolves. */
  async restartApi(): Promise<AppProcess> {
    await this.api.kill();
    this.api = spawnApp('api', this.env);
    await waitForHttp(`${this.base}/health/live`, { process: this.api, timeoutMs: 30000 });
    return this.api;
  }

  /** A new aggregator process (after the old one is killed); it is not waited for. */
  async restartAggregator(): Promise<AppProcess> {
    await this.aggregator.kill();
    this.aggregator = spawnApp('aggregator', this.env);
    return this.aggregator;
  }

  /** Waits for the aggregator's "ready" log line (it serves no HTTP here: HEALTH_PORT=0). */
  async aggregatorReady(timeoutMs = 30000): Promise<void> {
    const agg = this.aggregator;
    await waitFor(
      'the aggregator to be ready',
      async () => {
        if (!agg.running()) throw new ProcessExitedError(`the aggregator exited (code ${await agg.exited}): ${agg.output().slice(-3000)}`);
        return /ready: aggregating/.test(agg.output()) ? true : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** Live worker heartbeats (any state). */
  workers(): Promise<WorkerHeartbeat[]> {
    return new RedisWorkersRegistry(this.appsRedis()).live();
  }

  private external: Redis | undefined;

  /** A client of the Redis the apps use (the caller's redisUrl, else the cluster's own). */
  appsRedis(): Redis {
    if (!this.options.redisUrl) return this.redis.client;
    return (this.external ??= createRedis(this.options.redisUrl, { name: 'rerank-harness' }));
  }

  async readyWorkers(): Promise<WorkerHeartbeat[]> {
    return (await this.workers()).filter((w) => w.state === 'ready');
  }

  /** Stops every process it started, Redis last. Safe after a failed start. */
  async stop(): Promise<void> {
    // Workers first, while Redis is up (one left without Redis retries forever); a test may have paused one (SIGSTOP).
    for (const w of this.ownWorkers) if (w.running()) w.proc.kill('SIGCONT');
    await Promise.allSettled([
      this.launcher?.stop(60000),
      ...this.ownWorkers.map((w) => w.stop()),
      this.api?.stop(),
      this.aggregator?.stop(),
    ]);
    this.external?.disconnect();
    await this.redis?.stop();
  }
}
