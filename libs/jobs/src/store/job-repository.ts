/**
 * The job repository: the only code that knows a job's Redis keys (keys.ts) and hash fields
 * (JOB_FIELDS). Status changes are Lua scripts (./lua), so two processes racing (cancel vs.
 * completion) cannot both win. Every method is one round trip unless it says otherwise.
 */
import type { Redis } from 'ioredis';
import type { ScoreOverrides } from '@rerank/engine';
import { type JobStatus, type TerminalStatus, TERMINAL } from '../queues';
import type { JobLayout } from '../job-layout';
import type { NormalizedJob } from '../validation/job-request';
import type { ItemId } from '../validation/documents';
import type { JobCursor, JobListQuery } from '../validation/job-list-query';
import type { PairScore } from '../merge';
import { SecretBox } from '../net/secret-box';
import { redisNodes, waitForRedis } from '../redis';
import { waitUntilWritable } from '../infra-retry';
import { JOB_PREFIX, jobIdOfKey, jobKeys, keys } from './keys';
import { defineScripts, runScript, SCRIPTS } from './scripts';

/** The job hash's fields: logical name -> field in Redis. Nothing outside this file spells a field. */
export const JOB_FIELDS = {
  id: 'id',
  owner: 'owner',
  status: 'status',
  model: 'model',
  createdAt: 'created_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  queries: 'queries_count',
  documents: 'documents_count',
  pairs: 'pairs_total',
  shardsTotal: 'shards_total',
  topK: 'top_k',
  returnDocuments: 'return_documents',
  options: 'options',
  metadata: 'metadata',
  baseUrl: 'base_url',
  requestHash: 'request_hash',
  error: 'error',
  errorCode: 'error_code',
  webhookUrl: 'webhook_url',
  webhookSecret: 'webhook_secret',
  webhookState: 'webhook_state',
  webhookEvent: 'webhook_event',
  webhookAttempts: 'webhook_attempts',
  webhookLastStatus: 'webhook_last_status',
  webhookLastError: 'webhook_last_error',
  webhookLastAttemptAt: 'webhook_last_attempt_at',
  webhookDeliveredAt: 'webhook_delivered_at',
  /** X-Request-Id of the POST that created the job: carried into the worker's, aggregator's and webhook's log lines. */
  requestId: 'request_id',
  /** Cohere's priority of the job (0 the most urgent): its weight among its owner's jobs on the worker's device. */
  priority: 'priority',
} as const;
const F = JOB_FIELDS;

export interface WebhookState {
  url: string;
  /** pending (not sent yet), retrying, delivered, failed. */
  state: 'pending' | 'retrying' | 'delivered' | 'failed';
  event: TerminalStatus | null;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
  deliveredAt: number | null;
}

export interface JobRecord {
  id: string;
  owner: string;
  status: JobStatus;
  model: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  counts: { queries: number; documents: number; pairs: number };
  shardsTotal: number;
  topK: number;
  returnDocuments: boolean;
  options: ScoreOverrides;
  metadata: Record<string, unknown> | null;
  webhook: WebhookState | null;
  webhookSecret: string | null;
  /** Set when the stored secret is encrypted and cannot be opened (RERANK_SECRET_KEY unset or different). */
  webhookSecretError?: string;
  error: { code: string; message: string } | null;
  baseUrl: string;
  requestHash: string;
  /** X-Request-Id of the creating request ('' for jobs stored before it was kept). */
  requestId: string;
}

export interface Progress {
  shardsDone: number;
  pairsDone: number;
}

export interface NewJob {
  id: string;
  owner: string;
  createdAt: number;
  job: NormalizedJob;
  shardsTotal: number;
  baseUrl: string;
  requestHash: string;
  requestId?: string;
}

/** What a worker needs of a job to score its shards (read once per job and cached). */
export interface ShardContext {
  layout: JobLayout;
  options: ScoreOverrides;
  topK: number;
  returnDocuments: boolean;
  /** X-Request-Id of the creating request, for log lines ('' when none). */
  requestId: string;
  /** The job's owner: its tenant on the device (ScoreSchedule.tenant). */
  owner: string;
  /** Cohere's priority of the job (0 for jobs stored before it was kept): weight 1 / (1 + p). */
  priority: number;
}

/** A shard's start: its texts (in the order asked), or why it must not run. */
export type ShardStart = { state: 'ok'; texts: string[] } | { state: 'gone' | 'missing' } | { state: TerminalStatus };

/** A webhook delivery's outcome as stored on the job. */
export type WebhookOutcome =
  { state: 'delivered'; status: number | null; at: number } | { state: 'retrying' | 'failed'; status: number | null; error: string };

/** Keys of a job not yet queued expire after this long unless `activate` runs (a crash in between leaves nothing for good). */
const PENDING_TTL_SECONDS = 3600;
/** Fields per HSET / HMGET: commands stay bounded whatever the job size (argument spreads, Redis buffers). */
export const REDIS_CHUNK = 1000;

const int = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
const json = <T>(v: string | undefined | null, fallback: T): T => (v ? (JSON.parse(v) as T) : fallback);

export interface JobRepositoryOptions {
  /** RERANK_SECRET_KEY: webhook secrets are stored encrypted under it. */
  secretKey?: string;
  /** RERANK_JOB_LIST_MAX: newest jobs per owner kept in the listing index (older ones drop out of GET /v1/jobs). */
  ownerIndexMax?: number;
}

export const DEFAULT_OWNER_INDEX_MAX = 10000;

/** A job with its progress, as GET /v1/jobs/{id} shows it. */
export interface ListedJob {
  record: JobRecord;
  progress: Progress;
}

export interface JobListPage {
  jobs: ListedJob[];
  /** The last job of this page when more follow (the next page's cursor), else null. */
  next: JobCursor | null;
}

/** Index entries read per round trip while listing (more with a status filter, which skips entries). */
const LIST_BATCH = 100;
const LIST_FILTERED_BATCH = 250;

export class JobRepository {
  private readonly box: SecretBox | null;
  private readonly ownerIndexMax: number;

  constructor(
    private readonly redis: Redis,
    options: JobRepositoryOptions = {},
  ) {
    this.box = options.secretKey ? new SecretBox(options.secretKey) : null;
    this.ownerIndexMax = options.ownerIndexMax ?? DEFAULT_OWNER_INDEX_MAX;
    defineScripts(redis);
  }

  /** Waits until Redis answers (process start). */
  waitForConnection(timeoutMs: number): Promise<void> {
    return waitForRedis(this.redis, timeoutMs);
  }

  /** True while the connection is up (commands now would not queue for a reconnect). */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Resolves once Redis takes a write again (a probe key of `who`, expiring). */
  waitUntilWritable(who: string): Promise<void> {
    return waitUntilWritable(this.redis, keys.probe(who));
  }

  /** Writes a job and its inputs in one round trip (documents in HSETs of REDIS_CHUNK). Expires unless activated. */
  async create(n: NewJob): Promise<void> {
    const { job, id } = n;
    const fields: Record<string, string | number> = {
      [F.id]: id,
      [F.owner]: n.owner,
      [F.status]: 'queued',
      [F.model]: job.model,
      [F.createdAt]: n.createdAt,
      [F.queries]: job.queries.length,
      [F.documents]: job.documents.length,
      [F.pairs]: job.pairs,
      [F.shardsTotal]: n.shardsTotal,
      [F.topK]: job.topK,
      [F.returnDocuments]: job.returnDocuments ? 1 : 0,
      [F.options]: JSON.stringify(job.options),
      [F.metadata]: job.metadata ? JSON.stringify(job.metadata) : '',
      [F.baseUrl]: n.baseUrl,
      [F.requestHash]: n.requestHash,
      [F.priority]: job.priority ?? 0,
    };
    if (n.requestId) fields[F.requestId] = n.requestId;
    if (job.webhook) {
      fields[F.webhookUrl] = job.webhook.url;
      fields[F.webhookSecret] = job.webhook.secret && this.box ? this.box.seal(job.webhook.secret, id) : (job.webhook.secret ?? '');
      fields[F.webhookState] = 'pending';
      fields[F.webhookAttempts] = 0;
    }
    const p = this.redis.multi();
    p.hset(keys.job(id), fields);
    // Documents in HSETs of REDIS_CHUNK fields: one spread of 2 × N arguments overflows the stack near 60,000 documents.
    for (let start = 0; start < job.documents.length; start += REDIS_CHUNK) {
      const end = Math.min(job.documents.length, start + REDIS_CHUNK);
      const docArgs = new Array<string | number>((end - start) * 2);
      for (let i = start; i < end; i++) {
        docArgs[2 * (i - start)] = i;
        docArgs[2 * (i - start) + 1] = job.documents[i];
      }
      p.hset(keys.docs(id), ...docArgs);
    }
    p.set(keys.layout(id), JSON.stringify({ queries: job.queries, sets: job.sets }));
    if (job.documentIds) p.set(keys.docIds(id), JSON.stringify(job.documentIds));
    for (const k of [keys.job(id), keys.docs(id), keys.layout(id), keys.docIds(id)]) p.expire(k, PENDING_TTL_SECONDS);
    await exec(p);
    // The owner's listing index, bounded to its newest entries (ids of expired jobs go when a listing meets
    // them). A MULTI of its own: in a Redis Cluster it lives in another slot than the job's keys.
    await exec(
      this.redis
        .multi()
        .zadd(keys.ownerJobs(n.owner), n.createdAt, id)
        .zremrangebyrank(keys.ownerJobs(n.owner), 0, -(this.ownerIndexMax + 1)),
    );
  }

  /** The job is queued: its keys stay until it ends. */
  async activate(id: string): Promise<void> {
    const p = this.redis.multi();
    for (const k of [keys.job(id), keys.docs(id), keys.layout(id), keys.docIds(id)]) p.persist(k);
    await exec(p);
  }

  /** Removes every key of a job (a job that could not be queued), and its entry in `owner`'s listing. */
  async discard(id: string, owner?: string): Promise<void> {
    // Two commands: the owner's index is in another slot than the job's keys in a Redis Cluster.
    await this.redis.del(...jobKeys(id));
    if (owner !== undefined) await this.redis.zrem(keys.ownerJobs(owner), id);
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.toRecord(await this.redis.hgetall(keys.job(id)));
  }

  /** A job and its progress in one round trip (status polls): both keys share the job's hash slot. */
  async getWithProgress(id: string): Promise<{ record: JobRecord; progress: Progress } | null> {
    const replies = await this.redis.pipeline().hgetall(keys.job(id)).hvals(keys.progress(id)).exec();
    const [[jobError, fields], [progressError, values]] = replies as [[Error | null, Record<string, string>], [Error | null, string[]]];
    const error = jobError ?? progressError;
    if (error) throw error;
    const record = this.toRecord(fields);
    return record ? { record, progress: sumProgress(values) } : null;
  }

  /**
   * A page of `owner`'s jobs, newest first (same creation time: larger id first), with their progress.
   * Reads the owner's index in batches, each batch's hashes and progress in one pipeline, until the
   * page is full or the index is exhausted; ids whose job hash has expired are removed from the index.
   */
  async listOwned(owner: string, q: JobListQuery): Promise<JobListPage> {
    const index = keys.ownerJobs(owner);
    // Scores are creation times: created_before and created_after are exclusive bounds, the cursor an inclusive one.
    let max = q.createdBefore !== undefined ? `(${q.createdBefore}` : '+inf';
    if (q.cursor && (q.createdBefore === undefined || q.cursor.createdAt < q.createdBefore)) max = String(q.cursor.createdAt);
    const min = q.createdAfter !== undefined ? `(${q.createdAfter}` : '-inf';
    const batch = q.statuses ? LIST_FILTERED_BATCH : Math.max(q.limit + 1, LIST_BATCH);
    const found: ListedJob[] = [];
    const seen = new Set<string>();
    const gone: string[] = [];
    let more = false;
    for (let offset = 0; ; offset += batch) {
      const flat = await this.redis.zrevrangebyscore(index, max, min, 'WITHSCORES', 'LIMIT', offset, batch);
      const entries: { id: string; createdAt: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const entry = { id: flat[i], createdAt: Number(flat[i + 1]) };
        // Equal times come in reverse id order: those at the cursor's time with an id not below it were on earlier pages.
        if (q.cursor && entry.createdAt === q.cursor.createdAt && entry.id >= q.cursor.id) continue;
        // A job added while we read shifts later offsets by one: never list one twice.
        if (seen.has(entry.id)) continue;
        seen.add(entry.id);
        entries.push(entry);
      }
      if (entries.length > 0) {
        // Separate commands sent together, not one pipeline: each job is in its own slot in a Redis Cluster.
        const replies = await Promise.all(
          entries.flatMap((e) => [this.redis.hgetall(keys.job(e.id)), this.redis.hvals(keys.progress(e.id))]),
        );
        for (let i = 0; i < entries.length; i++) {
          const record = this.toRecord(replies[2 * i] as Record<string, string>);
          if (!record || record.owner !== owner) {
            gone.push(entries[i].id);
            continue;
          }
          if (q.statuses && !q.statuses.includes(record.status)) continue;
          if (found.length === q.limit) {
            more = true;
            break;
          }
          found.push({ record, progress: sumProgress(replies[2 * i + 1] as string[]) });
        }
      }
      if (more || flat.length < 2 * batch) break;
    }
    if (gone.length > 0) await this.redis.zrem(index, ...gone);
    const last = found[found.length - 1];
    return { jobs: found, next: more && last ? { createdAt: last.record.createdAt, id: last.record.id } : null };
  }

  /** Ids in `owner`'s listing index, newest first (tests and diagnostics). */
  async ownerIndex(owner: string): Promise<string[]> {
    return this.redis.zrevrange(keys.ownerJobs(owner), 0, -1);
  }

  private toRecord(h: Record<string, string>): JobRecord | null {
    if (!h[F.id]) return null;
    const secret = this.openSecret(h[F.id], h[F.webhookSecret]);
    return {
      id: h[F.id],
      owner: h[F.owner],
      status: h[F.status] as JobStatus,
      model: h[F.model],
      createdAt: Number(h[F.createdAt]),
      startedAt: int(h[F.startedAt]),
      finishedAt: int(h[F.finishedAt]),
      counts: { queries: Number(h[F.queries]), documents: Number(h[F.documents]), pairs: Number(h[F.pairs]) },
      shardsTotal: Number(h[F.shardsTotal]),
      topK: Number(h[F.topK]),
      returnDocuments: h[F.returnDocuments] === '1',
      options: json(h[F.options], {}),
      metadata: json(h[F.metadata], null),
      webhook: h[F.webhookUrl]
        ? {
            url: h[F.webhookUrl],
            state: (h[F.webhookState] as WebhookState['state']) ?? 'pending',
            event: (h[F.webhookEvent] as TerminalStatus) || null,
            attempts: Number(h[F.webhookAttempts] ?? 0),
            lastStatus: int(h[F.webhookLastStatus]),
            lastError: h[F.webhookLastError] || null,
            lastAttemptAt: int(h[F.webhookLastAttemptAt]),
            deliveredAt: int(h[F.webhookDeliveredAt]),
          }
        : null,
      webhookSecret: secret.value,
      ...(secret.error ? { webhookSecretError: secret.error } : {}),
      error: h[F.error] ? { code: h[F.errorCode] || 'job_failed', message: h[F.error] } : null,
      baseUrl: h[F.baseUrl] ?? '',
      requestHash: h[F.requestHash] ?? '',
      requestId: h[F.requestId] ?? '',
    };
  }

  private openSecret(id: string, stored: string | undefined): { value: string | null; error?: string } {
    if (!stored) return { value: null };
    if (!SecretBox.isSealed(stored)) return { value: stored };
    if (!this.box)
      return {
        value: null,
        error: 'the webhook secret is stored encrypted but RERANK_SECRET_KEY is not set here; set the same key as on the API',
      };
    try {
      return { value: this.box.open(stored, id) };
    } catch {
      return { value: null, error: 'the webhook secret cannot be decrypted with this RERANK_SECRET_KEY; set the same key as on the API' };
    }
  }

  async status(id: string): Promise<JobStatus | null> {
    return (await this.redis.hget(keys.job(id), F.status)) as JobStatus | null;
  }

  /** Layout, engine options, top-k and return_documents of a job, in one round trip (null when gone). */
  async shardContext(id: string): Promise<ShardContext | null> {
    const [layout, fields] = (await exec(
      this.redis
        .pipeline()
        .get(keys.layout(id))
        .hmget(keys.job(id), F.options, F.topK, F.returnDocuments, F.requestId, F.owner, F.priority),
    )) as [string | null, (string | null)[]];
    if (!layout || fields[1] === null) return null;
    return {
      layout: JSON.parse(layout) as JobLayout,
      options: json(fields[0], {}),
      topK: Number(fields[1]),
      returnDocuments: fields[2] === '1',
      requestId: fields[3] ?? '',
      owner: fields[4] ?? '',
      priority: Number(fields[5] ?? 0) || 0,
    };
  }

  async progress(id: string): Promise<Progress> {
    return sumProgress(await this.redis.hvals(keys.progress(id)));
  }

  async layout(id: string): Promise<JobLayout | null> {
    return json(await this.redis.get(keys.layout(id)), null);
  }

  /** Texts of flat document indices (null where gone). */
  async documents(id: string, indices: readonly number[]): Promise<(string | null)[]> {
    if (indices.length === 0) return [];
    if (indices.length <= REDIS_CHUNK) return this.redis.hmget(keys.docs(id), ...indices.map(String));
    // Large reads in HMGETs of REDIS_CHUNK fields, pipelined (one round trip), for the same reason as create.
    const p = this.redis.pipeline();
    for (let start = 0; start < indices.length; start += REDIS_CHUNK)
      p.hmget(keys.docs(id), ...indices.slice(start, start + REDIS_CHUNK).map(String));
    const replies = (await exec(p)) as (string | null)[][];
    const out: (string | null)[] = [];
    for (const part of replies) for (const v of part) out.push(v);
    return out;
  }

  /** True while the job's input texts are stored (they go when the job ends). */
  async hasDocuments(id: string): Promise<boolean> {
    return (await this.redis.exists(keys.docs(id))) === 1;
  }

  async documentIds(id: string): Promise<(ItemId | null)[] | null> {
    return json(await this.redis.get(keys.docIds(id)), null);
  }

  /**
   * A worker starts shard `n`: one round trip that checks the job is not over, reads the texts of
   * `flatIndices`, and when all are there marks the job running and counts the run (a count above
   * 1 means the shard ran again after a worker died).
   */
  async startShard(id: string, n: number, flatIndices: readonly number[], now = Date.now()): Promise<ShardStart> {
    const reply = (await runScript(
      this.redis,
      SCRIPTS.startShard,
      [keys.job(id), keys.docs(id), keys.runs(id)],
      [now, n, ...flatIndices],
    )) as string[];
    const [state, ...texts] = reply;
    if (state === 'ok') return { state, texts };
    return { state: state as 'gone' | 'missing' | TerminalStatus };
  }

  /** Times each shard's scoring started (diagnostics). */
  async shardRuns(id: string): Promise<Record<string, number>> {
    const h = await this.redis.hgetall(keys.runs(id));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  /** A shard's pairs are scored. Keyed by shard: a re-run overwrites instead of counting twice. */
  async recordShard(id: string, n: number, pairs: number): Promise<void> {
    await this.redis.hset(keys.progress(id), String(n), pairs);
  }

  /**
   * Moves a job to a terminal status unless it already is in one. Returns true when this call made
   * the change (so exactly one caller sends the webhook), false when it was terminal, null when gone.
   */
  async finish(id: string, status: TerminalStatus, error?: { code: string; message: string }, now = Date.now()): Promise<boolean | null> {
    const args: (string | number)[] = [status, F.finishedAt, now];
    if (error) args.push(F.error, error.message, F.errorCode, error.code);
    const r = (await runScript(this.redis, SCRIPTS.finish, [keys.job(id)], args)) as number;
    return r === -1 ? null : r === 1;
  }

  /** Stores results, drops the inputs, and lets every key of the job expire after `ttlSeconds` (one MULTI). */
  async storeResults(id: string, top: unknown, scores: readonly PairScore[][], ttlSeconds: number): Promise<void> {
    const p = this.redis.multi();
    p.set(keys.result(id), JSON.stringify(top));
    for (let start = 0; start < scores.length; start += REDIS_CHUNK) {
      const args: string[] = [];
      for (let q = start; q < Math.min(scores.length, start + REDIS_CHUNK); q++) args.push(String(q), JSON.stringify(scores[q]));
      p.hset(keys.scores(id), ...args);
    }
    this.queueExpiry(p, id, ttlSeconds, false);
    await exec(p);
  }

  async result(id: string): Promise<unknown> {
    return json(await this.redis.get(keys.result(id)), null);
  }

  async queryScores(id: string, q: number): Promise<PairScore[] | null> {
    return json(await this.redis.hget(keys.scores(id), String(q)), null);
  }

  /** Every key of the job expires after `ttlSeconds`; the input documents go now unless `keepDocuments`. */
  async expire(id: string, ttlSeconds: number, keepDocuments = false): Promise<void> {
    const p = this.redis.multi();
    this.queueExpiry(p, id, ttlSeconds, keepDocuments);
    await exec(p);
  }

  private queueExpiry(p: ReturnType<Redis['multi']>, id: string, ttlSeconds: number, keepDocuments: boolean): void {
    for (const k of jobKeys(id)) {
      if (k === keys.docs(id) && !keepDocuments) p.del(k);
      else p.expire(k, ttlSeconds);
    }
  }

  /** Seconds until the job hash expires (-1: no expiry, -2: gone). */
  async ttl(id: string): Promise<number> {
    return this.redis.ttl(keys.job(id));
  }

  /** Ids of every job hash in Redis (tests and diagnostics: a SCAN, not for request paths). */
  async jobIds(): Promise<string[]> {
    const out: string[] = [];
    // Every master of a Redis Cluster holds some of the jobs.
    for (const node of redisNodes(this.redis)) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `${JOB_PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        for (const k of found) {
          const id = jobIdOfKey(k);
          if (id !== null) out.push(id);
        }
      } while (cursor !== '0');
    }
    return out.sort();
  }

  /** The webhook secret as stored (sealed when RERANK_SECRET_KEY is set): for tests that check it is not plain. */
  async storedWebhookSecret(id: string): Promise<string | null> {
    return this.redis.hget(keys.job(id), F.webhookSecret);
  }

  /** A delivery attempt of the job's webhook starts. */
  async recordWebhookAttempt(id: string, event: TerminalStatus, attempt: number, at: number): Promise<void> {
    await this.updateExisting(id, { [F.webhookEvent]: event, [F.webhookAttempts]: attempt, [F.webhookLastAttemptAt]: at });
  }

  async recordWebhookOutcome(id: string, o: WebhookOutcome): Promise<void> {
    await this.updateExisting(
      id,
      o.state === 'delivered'
        ? { [F.webhookState]: 'delivered', [F.webhookLastStatus]: o.status ?? '', [F.webhookLastError]: '', [F.webhookDeliveredAt]: o.at }
        : { [F.webhookState]: o.state, [F.webhookLastStatus]: o.status ?? '', [F.webhookLastError]: o.error },
    );
  }

  /** HSET on a job hash that still exists (an expired job is not recreated as a stub). */
  private async updateExisting(id: string, fields: Record<string, string | number>): Promise<void> {
    if ((await this.redis.exists(keys.job(id))) === 0) return;
    await this.redis.hset(keys.job(id), fields);
  }

  /** Idempotency: the job a key already made, or claims the key for `jobId`. */
  async claimIdempotencyKey(
    owner: string,
    keyHash: string,
    jobId: string,
    bodyHash: string,
    ttlSeconds: number,
  ): Promise<{ job: string; body: string } | null> {
    const key = keys.idempotency(owner, keyHash);
    const ok = await this.redis.set(key, JSON.stringify({ job: jobId, body: bodyHash }), 'EX', ttlSeconds, 'NX');
    if (ok === 'OK') return null;
    return json(await this.redis.get(key), null);
  }

  async releaseIdempotencyKey(owner: string, keyHash: string): Promise<void> {
    await this.redis.del(keys.idempotency(owner, keyHash));
  }

  static isTerminal(status: JobStatus | null): boolean {
    return status !== null && TERMINAL.includes(status);
  }
}

/** Progress from the values of a progress hash (pairs scored per shard). */
function sumProgress(values: readonly string[]): Progress {
  let pairsDone = 0;
  for (const v of values) pairsDone += Number(v);
  return { shardsDone: values.length, pairsDone };
}

/** Runs a MULTI or pipeline; throws the first command error, else returns the replies. */
async function exec(p: ReturnType<Redis['multi']>): Promise<unknown[]> {
  const res = await p.exec();
  if (!res) throw new Error('Redis discarded the transaction (EXEC returned null)');
  for (const [err] of res) if (err) throw err;
  return res.map(([, v]) => v);
}

/**
 * The status of each job (null: gone), one HGET per job sent together: in a Redis Cluster the job
 * hashes live in different slots, where one script or pipeline over them all would fail CROSSSLOT.
 */
export async function readJobStatuses(redis: Redis, ids: readonly string[]): Promise<(string | null)[]> {
  return Promise.all(ids.map((id) => redis.hget(keys.job(id), F.status)));
}

/** True for the status of a job that ended or is gone (it no longer counts as active or pending). */
export function hasEnded(status: string | null): boolean {
  return status === null || status === 'completed' || status === 'failed' || status === 'cancelled';
}
