/**
 * The Redis key schema: every key the service writes outside BullMQ's own, in one place. Only the
 * repositories (this folder), the rate limiter and the backpressure gauge use it; nothing else
 * spells a key.
 *
 *   rerank:job:<id>            hash   the job (fields: JOB_FIELDS in job-repository.ts)
 *   rerank:job:<id>:layout     string JSON {queries:[{id,text,set}], sets:[{offset,count}]}
 *   rerank:job:<id>:docs       hash   flat document index -> text (deleted once the job ends)
 *   rerank:job:<id>:docids     string JSON list of document ids (only when some were given)
 *   rerank:job:<id>:progress   hash   shard number -> pairs scored (a re-run overwrites, never adds)
 *   rerank:job:<id>:runs       hash   shard number -> times scoring started (diagnostics)
 *   rerank:job:<id>:result     string JSON top-k per query
 *   rerank:job:<id>:scores     hash   query index -> JSON list of every score, in document order
 *   rerank:idem:<owner>:<hash> string JSON {job, body} for Idempotency-Key
 *   rerank:owner:<owner>:jobs  zset   job id -> created (ms): the owner's jobs for GET /v1/jobs (bounded; ids of expired jobs pruned)
 *   rerank:workers             zset   worker id -> last heartbeat (ms)
 *   rerank:worker:<id>         string JSON heartbeat (device, models, pid), expires
 *   rerank:pending-pairs       hash   job id -> pairs, for jobs accepted and not yet seen finished (backpressure)
 *   rerank:probe:<id>          string a worker's write probe while Redis refuses writes
 *   rerank-limits:...          rate limiter (rate-limiter-flexible) and active jobs per owner (zset)
 *   rerank:q:<queue>:...       BullMQ (prefix rerank:q): queues shards, aggregate, webhooks
 */

/** The prefix of a job hash: `JOB_PREFIX + id` (Lua scripts that look jobs up by id get it as an argument). */
export const JOB_PREFIX = 'rerank:job:';
export const BULL_PREFIX = 'rerank:q';
export const LIMITS_PREFIX = 'rerank-limits';

export const keys = {
  job: (id: string) => `${JOB_PREFIX}${id}`,
  layout: (id: string) => `${JOB_PREFIX}${id}:layout`,
  docs: (id: string) => `${JOB_PREFIX}${id}:docs`,
  docIds: (id: string) => `${JOB_PREFIX}${id}:docids`,
  progress: (id: string) => `${JOB_PREFIX}${id}:progress`,
  runs: (id: string) => `${JOB_PREFIX}${id}:runs`,
  result: (id: string) => `${JOB_PREFIX}${id}:result`,
  scores: (id: string) => `${JOB_PREFIX}${id}:scores`,
  idempotency: (owner: string, keyHash: string) => `rerank:idem:${owner}:${keyHash}`,
  ownerJobs: (owner: string) => `rerank:owner:${owner}:jobs`,
  workers: 'rerank:workers',
  worker: (id: string) => `rerank:worker:${id}`,
  pendingPairs: 'rerank:pending-pairs',
  probe: (id: string) => `rerank:probe:${id}`,
  /** rate-limiter-flexible's key prefix of one limit (`requests`, `pairs`). */
  rateLimit: (name: string) => `${LIMITS_PREFIX}:${name}`,
  activeJobs: (owner: string) => `${LIMITS_PREFIX}:active:${owner}`,
};

/** Every key of a job (for TTLs and clean-up). */
export function jobKeys(id: string): string[] {
  return [keys.job(id), keys.layout(id), keys.docs(id), keys.docIds(id), keys.progress(id), keys.runs(id), keys.result(id), keys.scores(id)];
}
