/**
 * The job hash (`rerank:job:<id>`): its fields, and a record read back from them. Only the Redis
 * adapters of this folder spell a field. Shared helpers of those adapters too.
 */
import type { Redis } from 'ioredis';
import type { JobStatus, TerminalStatus } from '../queues';
import type { JobRecord, Progress, WebhookState } from '../ports/job-store';
import { SecretBox } from '../net/secret-box';

/** The job hash's fields: logical name -> field in Redis. Nothing outside this folder spells a field. */
export const JOB_FIELDS = {
  id: 'id',
  /** The tenant; stored as `owner` since the first release (renaming a stored field would orphan older jobs). */
  tenant: 'owner',
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
  /** '1' from `create` until `activate` (the shards are queued): the tenant does not see the job meanwhile. Read by activate-3.lua. */
  pending: 'pending',
} as const;

/** Keys of a job not yet queued expire after this long unless it is activated (a crash in between leaves nothing for good). */
export const PENDING_TTL_SECONDS = 3600;
/** Fields per HSET / HMGET: commands stay bounded whatever the job size (argument spreads, Redis buffers). */
export const REDIS_CHUNK = 1000;

const F = JOB_FIELDS;
const int = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
export const json = <T>(v: string | undefined | null, fallback: T): T => (v ? (JSON.parse(v) as T) : fallback);

/** Reads job hashes back as records, opening webhook secrets sealed with RERANK_SECRET_KEY. */
export class JobHash {
  private readonly box: SecretBox | null;

  constructor(secretKey?: string) {
    this.box = secretKey ? new SecretBox(secretKey) : null;
  }

  /** A webhook secret as stored: sealed when RERANK_SECRET_KEY is set. */
  seal(secret: string, id: string): string {
    return this.box ? this.box.seal(secret, id) : secret;
  }

  toRecord(h: Record<string, string>): JobRecord | null {
    if (!h[F.id]) return null;
    const secret = this.openSecret(h[F.id], h[F.webhookSecret]);
    return {
      id: h[F.id],
      tenant: h[F.tenant],
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
      pending: h[F.pending] === '1',
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
}

/** Progress from the values of a progress hash (pairs scored per shard). */
export function sumProgress(values: readonly string[]): Progress {
  let pairsDone = 0;
  for (const v of values) pairsDone += Number(v);
  return { shardsDone: values.length, pairsDone };
}

/**
 * Runs a MULTI or pipeline; throws the first command error, else returns the replies. A MULTI whose
 * commands Redis refused as they were queued (OOM, MISCONF, READONLY) fails as EXECABORT: the first
 * refusal is thrown instead, since its reason is what the operator needs (and what callers retry on).
 */
export async function exec(p: ReturnType<Redis['multi']>): Promise<unknown[]> {
  let res: [Error | null, unknown][] | null;
  try {
    res = await p.exec();
  } catch (e) {
    const refused = (e as { previousErrors?: unknown[] }).previousErrors?.[0];
    throw refused instanceof Error ? refused : e;
  }
  if (!res) throw new Error('Redis discarded the transaction (EXEC returned null)');
  for (const [err] of res) if (err) throw err;
  return res.map(([, v]) => v);
}
