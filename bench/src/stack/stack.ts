/**
 * The job system as separate processes on one redis-server of its own (@rerank/harness's Cluster),
 * with what the bench adds: jobs submitted from bodies serialized beforehand, completion polling,
 * all scores, the aggregator's merge time, and the workers' resident memory. Sections 3 and 4 drive
 * it, restarting the launcher with other devices and threads (`startWorkers` with RERANK_THREADS).
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from '@rerank/harness';
import { procStat } from '../cpu-monitor';
import { residentMemory } from './processes';

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

/** Headers of a call made with an API key (a tenant: RERANK_API_KEYS on the stack), or none. */
const keyHeaders = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

/** RERANK_THREADS of a launcher, split by it across its CPU workers. */
export const threadsEnv = (threads: number) => ({ RERANK_THREADS: String(threads) });

export class Stack extends Cluster {
  constructor(options: StackOptions) {
    super({ models: [options.model], env: { RERANK_RESULT_TTL_SECONDS: String(options.resultTtlSeconds), ...options.env } });
  }

  /** POST /v1/jobs with a body serialized beforehand (as the tenant of `key` when given); the milliseconds to the 202 at the client. */
  async submit(body: string | Buffer, key?: string): Promise<{ id: string; ms: number }> {
    const t = performance.now();
    const r = await fetch(`${this.base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...keyHeaders(key) },
      body,
    });
    const text = await r.text();
    const ms = performance.now() - t;
    if (r.status !== 202) throw new Error(`POST /v1/jobs: HTTP ${r.status} ${text.slice(0, 500)}`);
    return { id: (JSON.parse(text) as { id: string }).id, ms };
  }

  async view(id: string, key?: string): Promise<JobView> {
    const r = await fetch(`${this.base}/v1/jobs/${id}`, { headers: keyHeaders(key) });
    if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as JobView;
  }

  /** Polls the job every `everyMs` until it ends; throws unless it completed. */
  async waitCompleted(id: string, everyMs = 50, timeoutMs = 3_600_000, key?: string): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.view(id, key);
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

  /** CPU seconds (user + system) so far of each process of the stack, and of the bench itself. */
  async processCpu(): Promise<Record<string, number>> {
    const workers = await this.workers();
    const of = (pid: number | undefined) => (pid === undefined ? NaN : (procStat(pid)?.cpu ?? NaN));
    const own = process.cpuUsage();
    return {
      worker: workers.reduce((sum, w) => sum + of(w.pid), 0),
      API: of(this.api.proc.pid),
      aggregator: of(this.aggregator.proc.pid),
      Redis: of(this.redis.process.proc.pid),
      launcher: of(this.launcher?.proc.pid),
      bench: (own.user + own.system) / 1e6,
    };
  }

  /**
   * Pins the workers' side (launcher and workers) to the CPUs `workerCpus` and everything else (API,
   * aggregator, Redis, this process) to `restCpus`, every thread (taskset -a): the API on cores of
   * its own, as on a node of its own. `pin('0-N', '0-N')` undoes it.
   */
  async pin(workerCpus: string, restCpus: string): Promise<void> {
    const set = (cpus: string, pid: number | undefined) => {
      if (pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    };
    for (const w of await this.workers()) set(workerCpus, w.pid);
    set(workerCpus, this.launcher?.proc.pid);
    for (const pid of [this.api.proc.pid, this.aggregator.proc.pid, this.redis.process.proc.pid, process.pid]) set(restCpus, pid);
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
