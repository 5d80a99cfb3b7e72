/**
 * The Redis key schema: every key the service writes outside BullMQ's own, in one place. Only the
 * Redis adapters (this folder and ../queue) use it; nothing else spells a key (the libs/jobs barrel
 * does not export it).
 *
 *   rerank:job:<id>            hash   the job (fields: JOB_FIELDS in job-hash.ts)
 *   rerank:job:<id>:layout     string JSON {queries:[{id,text,set}], sets:[{offset,count}]}
 *   rerank:job:<id>:docs       hash   flat document index -> text (deleted once the job ends)
 *   rerank:job:<id>:docids     string JSON list of document ids (only when some were given)
 *   rerank:job:<id>:progress   hash   shard number -> pairs scored (a re-run overwrites, never adds)
 *   rerank:job:<id>:runs       hash   shard number -> times scoring started (diagnostics)
 *   rerank:job:<id>:result     string JSON top-k per query
 *   rerank:job:<id>:scores     hash   query index -> JSON list of every score, in document order
 *   rerank:job:<id>:events     stream the job's event log for watchers: a shard scored (k=shard n q p t), the end (k=end s)
 *   rerank:idem:<owner>:<hash> string JSON {job, body, lease?} for Idempotency-Key (lease: while its job is being created)
 *   rerank:owner:<owner>:jobs  zset   job id -> created (ms): the owner's jobs for GET /v1/jobs (bounded; ids of expired jobs pruned)
 *   rerank:workers             zset   worker id -> last heartbeat (ms)
 *   rerank:worker:<id>         string JSON heartbeat (device, models, pid), expires
 *   rerank:pending-pairs       hash   job id -> pairs, for jobs accepted and not yet seen finished (backpressure)
 *   rerank:cancels             channel pub/sub: `job:<id>` / `sync:<token>`, work in flight to drop (no key)
 *   rerank:probe:<id>          string a worker's write probe while Redis refuses writes
 *   rerank:fair:<queue>:<owner>      hash   a tenant's shards waiting in a model's shard queue: BullMQ shard id -> "cost factor queuedAt" (queue/fair-queue.ts; pruned when re-tagging)
 *   rerank:fair-lock:<queue>:<owner> string the API replica re-tagging that tenant's shards (short PX lock)
 *   rerank-limits:...          rate limiter (rate-limiter-flexible) and active jobs per owner (zset)
 *   rerank:q:<queue>:...       BullMQ (prefix rerank:q): queues shards, aggregate, webhooks
 *
 * In cluster mode (below): rerank:job:{<id>}..., {rerank:q}:<queue>:..., rerank:{workers}[:<id>],
 * {rerank:q}:fair[-lock]:<queue>:<owner> (its scripts touch the queue's own keys).
 */

/**
 * Redis Cluster needs every multi-key command and script to stay in one hash slot. In cluster mode
 * (REDIS_URL redis+cluster://, useClusterKeys) the names carry hash tags: a job's keys share the
 * tag `{<id>}`, every BullMQ queue shares `{rerank:q}` (flows put a parent in `aggregate` and its
 * children in `shards`), and the worker registry shares `{workers}`. On one node (or Sentinel) the
 * names stay exactly as they were, so no data migration; the choice is made once per process,
 * before any key is spelled (loadConfig and createRedis call useClusterKeys).
 */
let clusterKeys = false;

/** Hash-tagged key names from now on (a Redis Cluster); idempotent. */
export function useClusterKeys(on = true): void {
  clusterKeys = on;
  BULL_PREFIX = on ? '{rerank:q}' : 'rerank:q';
}

/** True in cluster mode (hash-tagged keys). */
export function clusterKeysInUse(): boolean {
  return clusterKeys;
}

/** The prefix of a job hash (`keys.job(id)` spells the whole key; in cluster mode the id is in braces). */
export const JOB_PREFIX = 'rerank:job:';
/** BullMQ's prefix: `{rerank:q}` in cluster mode (live binding: read it when building a Queue). */
export let BULL_PREFIX = 'rerank:q';
export const LIMITS_PREFIX = 'rerank-limits';

const jobBase = (id: string) => (clusterKeys ? `${JOB_PREFIX}{${id}}` : `${JOB_PREFIX}${id}`);

export const keys = {
  job: (id: string) => jobBase(id),
  layout: (id: string) => `${jobBase(id)}:layout`,
  docs: (id: string) => `${jobBase(id)}:docs`,
  docIds: (id: string) => `${jobBase(id)}:docids`,
  progress: (id: string) => `${jobBase(id)}:progress`,
  runs: (id: string) => `${jobBase(id)}:runs`,
  result: (id: string) => `${jobBase(id)}:result`,
  scores: (id: string) => `${jobBase(id)}:scores`,
  events: (id: string) => `${jobBase(id)}:events`,
  idempotency: (owner: string, keyHash: string) => `rerank:idem:${owner}:${keyHash}`,
  ownerJobs: (owner: string) => `rerank:owner:${owner}:jobs`,
  get workers(): string {
    return clusterKeys ? 'rerank:{workers}' : 'rerank:workers';
  },
  worker: (id: string) => (clusterKeys ? `rerank:{workers}:${id}` : `rerank:worker:${id}`),
  pendingPairs: 'rerank:pending-pairs',
  /** The pub/sub channel of cancels (CancelSignals): `job:<id>` or `sync:<token>`. */
  cancels: 'rerank:cancels',
  probe: (id: string) => `rerank:probe:${id}`,
  /** rate-limiter-flexible's key prefix of one limit (`requests`, `pairs`). */
  rateLimit: (name: string) => `${LIMITS_PREFIX}:${name}`,
  activeJobs: (owner: string) => `${LIMITS_PREFIX}:active:${owner}`,
  /** A tenant's waiting shards in one BullMQ queue (same hash slot as the queue in cluster mode). */
  fairShards: (queue: string, owner: string) => `${clusterKeys ? '{rerank:q}' : 'rerank'}:fair:${queue}:${owner}`,
  /** The lock of one tenant's re-tagging in one queue. */
  fairLock: (queue: string, owner: string) => `${clusterKeys ? '{rerank:q}' : 'rerank'}:fair-lock:${queue}:${owner}`,
};

/** The job id of a job hash's key (`rerank:job:<id>` or `rerank:job:{<id>}`), or null for any other key. */
export function jobIdOfKey(key: string): string | null {
  if (!key.startsWith(JOB_PREFIX)) return null;
  const rest = key.slice(JOB_PREFIX.length);
  const m = /^\{([^{}:]+)\}$/.exec(rest);
  if (m) return m[1];
  return rest.includes(':') || rest.includes('{') ? null : rest;
}

/** Every key of a job's record, progress and results (its texts, `keys.docs`, are the document store's). */
export function jobKeys(id: string): string[] {
  return [
    keys.job(id),
    keys.layout(id),
    keys.docIds(id),
    keys.progress(id),
    keys.runs(id),
    keys.result(id),
    keys.scores(id),
    keys.events(id),
  ];
}
