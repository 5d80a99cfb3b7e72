/**
 * The job store: every read and write of a job's Redis keys goes through here (see queues.ts for
 * the layout). Status changes are Lua scripts, so two processes racing (cancel vs. completion)
 * cannot both win.
 */
import type { Redis } from 'ioredis';
import type { ScoreOverrides } from '@rerank/engine';
import { type JobStatus, jobKeys, keys, type TerminalStatus, TERMINAL } from './queues';
import type { DocumentSet, JobQuery, NormalizedJob } from './validation/job-request';
import type { ItemId } from './validation/documents';
import type { PairScore } from './merge';
import { SecretBox } from './net/secret-box';

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
}

export interface JobLayout {
  queries: JobQuery[];
  sets: DocumentSet[];
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
}

/** Keys of a job not yet queued expire after this long unless `activate` runs (a crash in between leaves nothing for good). */
const PENDING_TTL_SECONDS = 3600;
/** Fields per HSET / HMGET: commands stay bounded whatever the job size (argument spreads, Redis buffers). */
export const REDIS_CHUNK = 1000;

const FINISH_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'completed' or s == 'failed' or s == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 2))
return 1`;

const RUNNING_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
  return 1
end
return 0`;

const int = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
const json = <T>(v: string | undefined, fallback: T): T => (v ? (JSON.parse(v) as T) : fallback);

export interface JobStoreOptions {
  /** RERANK_SECRET_KEY: webhook secrets are stored encrypted under it. */
  secretKey?: string;
}

export class JobStore {
  private readonly box: SecretBox | null;

  constructor(
    readonly redis: Redis,
    options: JobStoreOptions = {},
  ) {
    this.box = options.secretKey ? new SecretBox(options.secretKey) : null;
    redis.defineCommand('rerankFinish', { numberOfKeys: 1, lua: FINISH_SCRIPT });
    redis.defineCommand('rerankRunning', { numberOfKeys: 1, lua: RUNNING_SCRIPT });
  }

  /** Writes a job and its inputs in one round trip (documents in one HSET). Expires unless activated. */
  async create(n: NewJob): Promise<void> {
    const { job, id } = n;
    const fields: Record<string, string | number> = {
      id,
      owner: n.owner,
      status: 'queued',
      model: job.model,
      created_at: n.createdAt,
      queries_count: job.queries.length,
      documents_count: job.documents.length,
      pairs_total: job.pairs,
      shards_total: n.shardsTotal,
      top_k: job.topK,
      return_documents: job.returnDocuments ? 1 : 0,
      options: JSON.stringify(job.options),
      metadata: job.metadata ? JSON.stringify(job.metadata) : '',
      base_url: n.baseUrl,
      request_hash: n.requestHash,
    };
    if (job.webhook) {
      fields.webhook_url = job.webhook.url;
      fields.webhook_secret = job.webhook.secret && this.box ? this.box.seal(job.webhook.secret, id) : (job.webhook.secret ?? '');
      fields.webhook_state = 'pending';
      fields.webhook_attempts = 0;
    }
    const p = this.redis.multi();
    p.hset(keys.job(id), fields);
    // Documents in HSETs of REDIS_CHUNK fields: one spread of 2 × N arguments overflows the stack near 60,000 documents.
    for (let start = 0; start < job.documents.length; start += REDIS_CHUNK) {
      const end = Math.min(job.documents.length, start + REDIS_CHUNK);
      const docArgs: (string | number)[] = new Array((end - start) * 2);
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
  }

  /** The job is queued: its keys stay until it ends. */
  async activate(id: string): Promise<void> {
    const p = this.redis.multi();
    for (const k of [keys.job(id), keys.docs(id), keys.layout(id), keys.docIds(id)]) p.persist(k);
    await exec(p);
  }

  /** Removes every key of a job (a job that could not be queued). */
  async discard(id: string): Promise<void> {
    await this.redis.del(...jobKeys(id));
  }

  async get(id: string): Promise<JobRecord | null> {
    const h = await this.redis.hgetall(keys.job(id));
    if (!h.id) return null;
    const secret = this.openSecret(h.id, h.webhook_secret);
    return {
      id: h.id,
      owner: h.owner,
      status: h.status as JobStatus,
      model: h.model,
      createdAt: Number(h.created_at),
      startedAt: int(h.started_at),
      finishedAt: int(h.finished_at),
      counts: { queries: Number(h.queries_count), documents: Number(h.documents_count), pairs: Number(h.pairs_total) },
      shardsTotal: Number(h.shards_total),
      topK: Number(h.top_k),
      returnDocuments: h.return_documents === '1',
      options: json(h.options, {}),
      metadata: json(h.metadata, null),
      webhook: h.webhook_url
        ? {
            url: h.webhook_url,
            state: (h.webhook_state as WebhookState['state']) ?? 'pending',
            event: (h.webhook_event as TerminalStatus) || null,
            attempts: Number(h.webhook_attempts ?? 0),
            lastStatus: int(h.webhook_last_status),
            lastError: h.webhook_last_error || null,
            lastAttemptAt: int(h.webhook_last_attempt_at),
            deliveredAt: int(h.webhook_delivered_at),
          }
        : null,
      webhookSecret: secret.value,
      ...(secret.error ? { webhookSecretError: secret.error } : {}),
      error: h.error ? { code: h.error_code || 'job_failed', message: h.error } : null,
      baseUrl: h.base_url ?? '',
      requestHash: h.request_hash ?? '',
    };
  }

  private openSecret(id: string, stored: string | undefined): { value: string | null; error?: string } {
    if (!stored) return { value: null };
    if (!SecretBox.isSealed(stored)) return { value: stored };
    if (!this.box) return { value: null, error: 'the webhook secret is stored encrypted but RERANK_SECRET_KEY is not set here; set the same key as on the API' };
    try {
      return { value: this.box.open(stored, id) };
    } catch {
      return { value: null, error: 'the webhook secret cannot be decrypted with this RERANK_SECRET_KEY; set the same key as on the API' };
    }
  }

  async status(id: string): Promise<JobStatus | null> {
    return (await this.redis.hget(keys.job(id), 'status')) as JobStatus | null;
  }

  /** The engine options a job was submitted with (null when the job is gone). */
  async options(id: string): Promise<ScoreOverrides | null> {
    const v = await this.redis.hget(keys.job(id), 'options');
    return v ? (JSON.parse(v) as ScoreOverrides) : null;
  }

  async progress(id: string): Promise<Progress> {
    const values = await this.redis.hvals(keys.progress(id));
    let pairsDone = 0;
    for (const v of values) pairsDone += Number(v);
    return { shardsDone: values.length, pairsDone };
  }

  async layout(id: string): Promise<JobLayout | null> {
    const v = await this.redis.get(keys.layout(id));
    return v ? (JSON.parse(v) as JobLayout) : null;
  }

  /** Texts of flattened document indices (null where gone). */
  async documents(id: string, indices: readonly number[]): Promise<(string | null)[]> {
    if (indices.length === 0) return [];
    if (indices.length <= REDIS_CHUNK) return this.redis.hmget(keys.docs(id), ...indices.map(String));
    // Large reads in HMGETs of REDIS_CHUNK fields, pipelined (one round trip), for the same reason as create.
    const p = this.redis.pipeline();
    for (let start = 0; start < indices.length; start += REDIS_CHUNK) p.hmget(keys.docs(id), ...indices.slice(start, start + REDIS_CHUNK).map(String));
    const replies = (await exec(p)) as (string | null)[][];
    const out: (string | null)[] = [];
    for (const part of replies) for (const v of part) out.push(v);
    return out;
  }

  async documentIds(id: string): Promise<(ItemId | null)[] | null> {
    const v = await this.redis.get(keys.docIds(id));
    return v ? (JSON.parse(v) as (ItemId | null)[]) : null;
  }

  /** queued -> running; true when this call made the change. */
  async markRunning(id: string, now = Date.now()): Promise<boolean> {
    return (await (this.redis as unknown as ScriptClient).rerankRunning(keys.job(id), now)) === 1;
  }

  /** A shard's scoring started (diagnostics: a count above 1 means it ran again after a worker died). */
  async noteShardRun(id: string, n: number): Promise<void> {
    await this.redis.hincrby(keys.runs(id), String(n), 1);
  }

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
  async finish(id: string, status: TerminalStatus, fields: Record<string, string | number> = {}, now = Date.now()): Promise<boolean | null> {
    const args: (string | number)[] = [status, 'finished_at', now];
    for (const [k, v] of Object.entries(fields)) args.push(k, v);
    const r = (await (this.redis as unknown as ScriptClient).rerankFinish(keys.job(id), ...args)) as number;
    return r === -1 ? null : r === 1;
  }

  /** Stores results, drops the inputs, and lets every key of the job expire after `ttlSeconds`. */
  async storeResults(id: string, top: unknown, scores: readonly PairScore[][], ttlSeconds: number): Promise<void> {
    const p = this.redis.multi();
    p.set(keys.result(id), JSON.stringify(top));
    for (let start = 0; start < scores.length; start += REDIS_CHUNK) {
      const args: string[] = [];
      for (let q = start; q < Math.min(scores.length, start + REDIS_CHUNK); q++) args.push(String(q), JSON.stringify(scores[q]));
      p.hset(keys.scores(id), ...args);
    }
    await exec(p);
    await this.expire(id, ttlSeconds);
  }

  async result(id: string): Promise<unknown> {
    const v = await this.redis.get(keys.result(id));
    return v ? JSON.parse(v) : null;
  }

  async queryScores(id: string, q: number): Promise<PairScore[] | null> {
    const v = await this.redis.hget(keys.scores(id), String(q));
    return v ? (JSON.parse(v) as PairScore[]) : null;
  }

  /** Every key of the job expires after `ttlSeconds`; the input documents go now unless `keepDocuments`. */
  async expire(id: string, ttlSeconds: number, keepDocuments = false): Promise<void> {
    const p = this.redis.multi();
    for (const k of jobKeys(id)) {
      if (k === keys.docs(id) && !keepDocuments) p.del(k);
      else p.expire(k, ttlSeconds);
    }
    await exec(p);
  }

  async updateWebhook(id: string, fields: Record<string, string | number>): Promise<void> {
    if ((await this.redis.exists(keys.job(id))) === 0) return;
    await this.redis.hset(keys.job(id), fields);
  }

  /** Idempotency: the job a key already made, or claims the key for `jobId`. */
  async claimIdempotencyKey(owner: string, keyHash: string, jobId: string, bodyHash: string, ttlSeconds: number): Promise<{ job: string; body: string } | null> {
    const key = keys.idempotency(owner, keyHash);
    const ok = await this.redis.set(key, JSON.stringify({ job: jobId, body: bodyHash }), 'EX', ttlSeconds, 'NX');
    if (ok === 'OK') return null;
    const v = await this.redis.get(key);
    return v ? (JSON.parse(v) as { job: string; body: string }) : null;
  }

  async releaseIdempotencyKey(owner: string, keyHash: string): Promise<void> {
    await this.redis.del(keys.idempotency(owner, keyHash));
  }

  static isTerminal(status: JobStatus | null): boolean {
    return status !== null && TERMINAL.includes(status);
  }
}

interface ScriptClient {
  rerankFinish(key: string, ...args: (string | number)[]): Promise<number>;
  rerankRunning(key: string, now: number): Promise<number>;
}

/** Runs a MULTI or pipeline; throws the first command error, else returns the replies. */
async function exec(p: ReturnType<Redis['multi']>): Promise<unknown[]> {
  const res = await p.exec();
  if (!res) throw new Error('Redis discarded the transaction (EXEC returned null)');
  for (const [err] of res) if (err) throw err;
  return res.map(([, v]) => v);
}
