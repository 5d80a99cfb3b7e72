/**
 * The job system as separate processes on one redis-server of its own: API, aggregator, and a
 * worker launcher that can be stopped and started with other devices. What sections 3 and 4 drive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@rerank/jobs';
import { type AppProcess, spawnApp, waitFor } from '@rerank/harness';
import { residentMemory, startRedis, type BenchRedis } from './processes';

export interface StackOptions {
  /** The model name clients send, and its directory. */
  model: { name: string; path: string };
  /** RERANK_RESULT_TTL_SECONDS: short, so the memory after the TTL can be read within the run. */
  resultTtlSeconds: number;
  /** Extra environment of every app. */
  env?: Record<string, string>;
}

export interface JobView {
  id: string;
  status: string;
  progress: { shards_done: number; shards_total: number; pairs_done: number; pairs_total: number };
  timings: { queued_ms: number | null; running_ms: number | null; total_ms: number | null };
  error: { code: string; message: string } | null;
}

interface Heartbeat {
  pid: number;
  device: string;
  threads: number;
  state: string;
}

export class Stack {
  api!: AppProcess;
  aggregator!: AppProcess;
  launcher: AppProcess | undefined;
  base!: string;
  private env!: Record<string, string>;

  private constructor(
    readonly redis: BenchRedis,
    private readonly options: StackOptions,
  ) {}

  /** redis-server, API and aggregator (no workers yet). */
  static async start(options: StackOptions): Promise<Stack> {
    const redis = await startRedis();
    const s = new Stack(redis, options);
    try {
      await s.boot();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async boot(): Promise<void> {
    const port = await freePort();
    this.env = {
      REDIS_URL: this.redis.url,
      RERANK_MODELS: JSON.stringify([this.options.model]),
      PORT: String(port),
      HEALTH_PORT: '0',
      RERANK_RESULT_TTL_SECONDS: String(this.options.resultTtlSeconds),
      ...this.options.env,
    };
    this.base = `http://127.0.0.1:${port}`;
    this.api = spawnApp('api', this.env);
    this.aggregator = spawnApp('aggregator', this.env);
    await waitFor(`the API on port ${port}`, async () => {
      if (this.api.proc.exitCode !== null) throw new Error(`the API exited: ${this.api.output().slice(-3000)}`);
      const r = await fetch(`${this.base}/health/live`, { signal: AbortSignal.timeout(2000) });
      return r.status === 200 ? true : undefined;
    }, 30000, 100);
    await waitFor('the aggregator', () => (/ready: aggregating/.test(this.aggregator.output()) ? true : undefined), 30000, 100);
  }

  /** Starts the launcher with these devices (`RERANK_THREADS` = `threads`, split by the launcher) and waits for every worker. */
  async startWorkers(devices: string[], threads: number, env: Record<string, string> = {}): Promise<void> {
    const launcher = spawnApp('launcher', { ...this.env, RERANK_THREADS: String(threads), ...env }, ['--devices', devices.join(',')]);
    this.launcher = launcher;
    await waitFor(`${devices.length} worker(s) ready`, async () => {
      if (launcher.proc.exitCode !== null) throw new Error(`the launcher exited: ${launcher.output().slice(-3000)}`);
      return (await this.workers()).filter((w) => w.state === 'ready').length >= devices.length ? true : undefined;
    }, 120000, 100).catch((e: Error) => {
      throw new Error(`${e.message}\nlauncher output:\n${launcher.output().slice(-4000)}`);
    });
  }

  async stopWorkers(): Promise<void> {
    await this.launcher?.stop(60000);
    this.launcher = undefined;
    // A clean stop removes the heartbeats.
    await waitFor('workers gone', async () => ((await this.workers()).length === 0 ? true : undefined), 20000, 100);
  }

  /** Live worker heartbeats (pid, device, threads, state). */
  async workers(): Promise<Heartbeat[]> {
    const ids = await this.redis.client.zrangebyscore('rerank:workers', Date.now() - 7000, '+inf');
    if (ids.length === 0) return [];
    const values = await this.redis.client.mget(...ids.map((id) => `rerank:worker:${id}`));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Heartbeat);
  }

  /** POST /v1/jobs with a body serialized beforehand; the milliseconds to the 202 at the client. */
  async submit(body: string | Buffer): Promise<{ id: string; ms: number }> {
    const t = performance.now();
    const r = await fetch(`${this.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await r.text();
    const ms = performance.now() - t;
    if (r.status !== 202) throw new Error(`POST /v1/jobs: HTTP ${r.status} ${text.slice(0, 500)}`);
    return { id: (JSON.parse(text) as { id: string }).id, ms };
  }

  async view(id: string): Promise<JobView> {
    const r = await fetch(`${this.base}/v1/jobs/${id}`);
    if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as JobView;
  }

  /** Polls the job every `everyMs` until it ends; throws unless it completed. */
  async waitCompleted(id: string, everyMs = 50, timeoutMs = 3_600_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.view(id);
      if (v.status === 'completed') return v;
      if (v.status === 'failed' || v.status === 'cancelled') throw new Error(`job ${id} ${v.status}: ${JSON.stringify(v.error)}`);
      if (Date.now() > deadline) throw new Error(`job ${id} still ${v.status} after ${timeoutMs} ms`);
      await sleep(everyMs);
    }
  }

  async cancel(id: string): Promise<void> {
    const r = await fetch(`${this.base}/v1/jobs/${id}`, { method: 'DELETE' });
    await r.arrayBuffer();
    if (r.status !== 200 && r.status !== 409) throw new Error(`DELETE /v1/jobs/${id}: HTTP ${r.status}`);
  }

  /** Every score of a completed job: scores[query][document]. */
  async allScores(id: string, queries: number): Promise<number[][]> {
    const r = await fetch(`${this.base}/v1/jobs/${id}/results?all=true&format=jsonl`);
    if (r.status !== 200) throw new Error(`results of ${id}: HTTP ${r.status} ${await r.text()}`);
    const scores: number[][] = Array.from({ length: queries }, () => []);
    for (const line of (await r.text()).split('\n')) {
      if (!line) continue;
      const x = JSON.parse(line) as { query_index: number; index: number; score: number };
      scores[x.query_index][x.index] = x.score;
    }
    return scores;
  }

  /** The aggregator's own account of a job's merge ("merged in N ms"), if it logged one. */
  mergeMs(id: string): number | undefined {
    const m = new RegExp(`job ${id} completed: .* merged in (\\d+) ms`).exec(this.aggregator.output());
    return m ? Number(m[1]) : undefined;
  }

  /** Resident memory of the worker processes (their pids from the heartbeats). */
  async workerMemory(): Promise<{ pid: number; rss: number; hwm: number }[]> {
    const out: { pid: number; rss: number; hwm: number }[] = [];
    for (const w of await this.workers()) {
      const m = residentMemory(w.pid);
      if (m) out.push({ pid: w.pid, ...m });
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.launcher?.stop(60000), this.api?.stop(), this.aggregator?.stop()]);
    await this.redis.stop();
  }
}

/** Samples a value every `everyMs` in the background; `stop()` returns the largest seen. */
export function sampler(read: () => Promise<number> | number, everyMs: number): { stop(): Promise<number> } {
  let max = -Infinity;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        max = Math.max(max, await read());
      } catch {
        // a process went away between samples
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return max;
    },
  };
}
