/**
 * The job store port: what the services keep about a job, by concern (one role interface each),
 * whatever holds it. The Redis adapter is store/redis-job-store.ts; the unit tier's fake is
 * test/unit/fakes.ts. Texts are not here: they are the DocumentStore's (document-store.ts).
 */
import type { ScoreOverrides } from '@rerank/engine';
import type { JobLayout } from '../job-layout';
import type { PairScore, Ranked } from '../merge';
import type { JobStatus, TerminalStatus } from '../queues';
import type { ItemId } from '../validation/documents';
import type { JobCursor, JobListQuery } from '../validation/job-list-query';
import type { NormalizedJob } from '../validation/job-request';

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
  /** The tenant that created the job (an API key's hash; SHARED_TENANT without keys): only it may read the job. */
  tenant: string;
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
  /** Created and not activated yet (its shards may not be queued): its tenant does not see it (GET is a 404, the listing leaves it out). */
  pending: boolean;
}

export interface Progress {
  shardsDone: number;
  pairsDone: number;
}

/**
 * A shard scored, as the job's event log keeps it for watchers (GET /v1/jobs/{id}/events): its
 * number, query, pairs and its own top-k (index in the query's set, score; best first).
 */
export interface ShardDone {
  n: number;
  q: number;
  pairs: number;
  top: Ranked[];
}

/** A job as the API accepted it (its texts go to the DocumentStore, not here). */
export interface NewJob {
  id: string;
  tenant: string;
  createdAt: number;
  job: Omit<NormalizedJob, 'documents'>;
  shardsTotal: number;
  baseUrl: string;
  requestHash: string;
  requestId?: string;
}

/** What a worker needs of a job to score its shards (read once per job and cached); the schedule comes with each shard. */
export interface ShardContext {
  layout: JobLayout;
  options: ScoreOverrides;
  topK: number;
  returnDocuments: boolean;
  /** X-Request-Id of the creating request, for log lines ('' when none). */
  requestId: string;
}

/** A shard's start: its texts (in the order asked), or why it must not run. */
export type ShardStart = { state: 'ok'; texts: string[] } | { state: 'gone' | 'missing' } | { state: TerminalStatus };

/** A webhook delivery's outcome as stored on the job. */
export type WebhookOutcome =
  { state: 'delivered'; status: number | null; at: number } | { state: 'retrying' | 'failed'; status: number | null; error: string };

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

/** The store's connection, for readiness and for waiting out an outage. */
export interface StoreConnection {
  /** Waits until the store answers (process start). */
  waitForConnection(timeoutMs: number): Promise<void>;
  /** True while the connection is up (commands now would not wait for a reconnect). */
  connected(): boolean;
  ping(): Promise<void>;
  /** Resolves once the store takes a write again (`who` names the prober). */
  waitUntilWritable(who: string): Promise<void>;
}

/** A job's record, status transitions (atomic: of two racing callers exactly one wins), inputs other than texts, and expiry. */
export interface JobRecords {
  /**
   * Writes a job, pending: invisible to its tenant (not listed, `pending` on its record) and expiring
   * unless `activate` runs (a crash before its shards are queued leaves nothing visible, nor for good).
   */
  create(job: NewJob): Promise<void>;
  /**
   * The job's shards are queued: it becomes visible (its record, then its tenant's listing) and stays
   * until it ends. Idempotent (a retry completing a crashed creation runs it again); a job that
   * already ended keeps its expiry.
   */
  activate(id: string): Promise<void>;
  /** Removes a job that could not be queued, and its entry in its tenant's listing. */
  discard(id: string, tenant: string): Promise<void>;
  get(id: string): Promise<JobRecord | null>;
  /** A job and its progress together (status polls). */
  getWithProgress(id: string): Promise<ListedJob | null>;
  status(id: string): Promise<JobStatus | null>;
  /** Layout, engine options, top-k, return_documents and request id (null when gone). */
  shardContext(id: string): Promise<ShardContext | null>;
  layout(id: string): Promise<JobLayout | null>;
  documentIds(id: string): Promise<(ItemId | null)[] | null>;
  /**
   * Moves a job to a terminal status unless it already is in one: true when this call made the
   * change (so exactly one caller sends the webhook), false when it was terminal, null when gone.
   * The change and the job event log's end entry are one atomic write.
   */
  finish(id: string, status: TerminalStatus, error?: { code: string; message: string }, now?: number): Promise<boolean | null>;
  /** Everything kept of the job expires after `ttlSeconds`. */
  expire(id: string, ttlSeconds: number): Promise<void>;
}

/** A tenant's jobs, newest first (GET /v1/jobs). */
export interface JobListing {
  listOwned(tenant: string, query: JobListQuery): Promise<JobListPage>;
}

/** Shards starting and ending. */
export interface ShardProgress {
  /**
   * A worker starts shard `n`: checks the job is not over, reads the texts of `flatIndices`, and
   * when all are there marks the job running and counts the run (above 1: run again after a worker died).
   */
  startShard(id: string, n: number, flatIndices: readonly number[], now?: number): Promise<ShardStart>;
  /**
   * A shard's pairs are scored: its progress (per shard number, so a re-run overwrites instead of
   * counting twice) and its entry in the job's event log (job-event-log.ts), in one write.
   */
  recordShard(id: string, shard: ShardDone): Promise<void>;
  progress(id: string): Promise<Progress>;
}

/** A job's results: top-k per query and every score. */
export interface JobResultStore {
  /** Stores results and lets the job expire after `ttlSeconds` (the texts are the DocumentStore's to drop). */
  storeResults(id: string, top: unknown, scores: readonly PairScore[][], ttlSeconds: number): Promise<void>;
  result(id: string): Promise<unknown>;
  queryScores(id: string, queryIndex: number): Promise<PairScore[] | null>;
}

/** A job's webhook delivery state (read with the record). */
export interface WebhookStates {
  /**
   * A delivery attempt starts: counted now, before its POST, so an attempt a crash cut short counts
   * too. Its number (from 1), or null when the job expired (left gone, not recreated).
   */
  recordWebhookAttempt(id: string, event: TerminalStatus, at: number): Promise<number | null>;
  recordWebhookOutcome(id: string, outcome: WebhookOutcome): Promise<void>;
}

/**
 * What an Idempotency-Key holds: the job it makes and its request's hash; while that job is being
 * created, the end of the creating request's lease (epoch ms; renewed step by step). A claim whose
 * lease ended without its job being queued may be taken over by a retry; a committed one (no lease)
 * names a job that exists completely.
 */
export interface IdempotencyClaim {
  job: string;
  body: string;
  leaseUntil?: number;
}

/** Idempotency-Key: the first request with a key makes the job, later ones find it. */
export interface IdempotencyKeys {
  /**
   * Sets the key to `claim` (kept `ttlSeconds`) when it is free, or when it still holds `replacing`
   * (a retry taking over a lapsed claim): null then; else what it holds.
   */
  claimIdempotencyKey(
    tenant: string,
    keyHash: string,
    claim: IdempotencyClaim,
    ttlSeconds: number,
    replacing?: IdempotencyClaim,
  ): Promise<IdempotencyClaim | null>;
  /** Replaces `from` by `to` (a renewed lease, or the commit: no lease) when the key still holds `from`; false otherwise. */
  updateIdempotencyKey(tenant: string, keyHash: string, from: IdempotencyClaim, to: IdempotencyClaim, ttlSeconds: number): Promise<boolean>;
  /** Frees the key when it still holds `claim`. */
  releaseIdempotencyKey(tenant: string, keyHash: string, claim: IdempotencyClaim): Promise<void>;
}

export type JobStore = StoreConnection & JobRecords & JobListing & ShardProgress & JobResultStore & WebhookStates & IdempotencyKeys;
