/**
 * A job to watch mid-way on real processes (test/jobs/job-events.spec.ts, test/api/job-page.spec.ts):
 * small shards (3 queries × 96 documents in 36 shards of 8 pairs), events every 100 ms, and one worker
 * that scores only in the bursts the test lets it run (SIGSTOP / SIGCONT; start the cluster with
 * recovery: 'default' so shard locks do not lapse while it is stopped).
 */
import type { AppProcess } from '@rerank/harness';

export const WATCH_ENV = {
  RERANK_REFUSE_UNSERVED: 'sync',
  RERANK_EVENTS_INTERVAL_MS: '100',
  RERANK_EVENTS_HEARTBEAT_MS: '300',
  RERANK_SHARD_MAX_PAIRS: '8',
  RERANK_WORKER_CONCURRENCY: '1',
  RERANK_THREADS: '1',
};

export const WATCH_QUERIES = ['capital of france', 'fast rerankers on gpus', 'how tokenizers split words'];
export const WATCH_DOCS = Array.from({ length: 96 }, (_, i) => ({
  id: `d${i}`,
  text: `document ${i}: ${['paris is the capital', 'gpus run rerankers', 'tokenizers split text', 'unrelated words'][i % 4]} ${'lorem ipsum '.repeat(i % 7)}`,
}));
/** POST /v1/jobs's body (model: the cluster's only one). */
export const WATCH_BODY = {
  queries: WATCH_QUERIES.map((query, i) => ({ id: `q${i}`, query })),
  documents: WATCH_DOCS,
  top_k: 5,
  return_documents: true,
};

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lets a stopped worker score for `ms`, then stops it again; events of what it did reach the watchers within a tick or two. */
export async function burst(worker: AppProcess, ms: number): Promise<void> {
  worker.proc.kill('SIGCONT');
  await pause(ms);
  worker.proc.kill('SIGSTOP');
  await pause(400);
}
