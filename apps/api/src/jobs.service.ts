import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Metrics } from '@rerank/jobs';
import {
  ApiError,
  checkWebhookUrl,
  flatIndex,
  invalid,
  type JobLayout,
  type JobRecord,
  type JobRepository,
  jobLinks,
  jobView,
  notFound,
  type PairScore,
  planShards,
  type QueryResult,
  type RerankConfig,
  isRedisUnavailable,
  encodeJobCursor,
  type JobView,
  type ScoringQueue,
  rankingScore,
  validateJobListQuery,
  validateJobRequest,
} from '@rerank/jobs';
import { BackpressureService } from './backpressure';
import { ModelsService } from './models.service';
import { RateLimitService } from './rate-limit.service';
import { currentRequestId } from './observability';
import { CONFIG, JOB_REPOSITORY, METRICS, SCORING_QUEUE } from './tokens';

export function newJobId(): string {
  return `job_${randomBytes(12).toString('base64url')}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** GET /v1/jobs: a page of the caller's jobs. */
export interface JobList {
  object: 'list';
  data: JobView[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface CreateResult {
  status: 200 | 202;
  body: unknown;
}

/** The shape of ids this API issues: anything else is a 404 without a Redis read. */
const JOB_ID = /^job_[A-Za-z0-9_-]{1,64}$/;

/** Asynchronous jobs: accept (validate, shard, queue), read, cancel, results. */
@Injectable()
export class JobsService {
  private readonly log = new Logger('jobs');

  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'limits' | 'shard' | 'jobs' | 'webhook'>,
    @Inject(JOB_REPOSITORY) private readonly store: JobRepository,
    @Inject(SCORING_QUEUE) private readonly queues: ScoringQueue,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
    private readonly backpressure: BackpressureService,
    /** Jobs accepted and cancelled (the aggregator counts completed and failed). */
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  async create(body: unknown, owner: string, idempotencyKey: string | undefined, base: string, res: ServerResponse): Promise<CreateResult> {
    if (
      idempotencyKey !== undefined &&
      (idempotencyKey.length === 0 || idempotencyKey.length > 255 || !/^[\x21-\x7e]+$/.test(idempotencyKey))
    ) {
      throw invalid('Idempotency-Key', 'expected 1 to 255 visible ASCII characters (e.g. a UUID)');
    }
    // Everything is checked before anything is written: a refused request leaves nothing in Redis.
    const job = validateJobRequest(body, { limits: this.config.limits, models: this.models.known() });
    // SSRF guard: the webhook host must be (and resolve only to) public addresses unless allow-listed.
    if (job.webhook) await checkWebhookUrl(job.webhook.url, { allowed: this.config.webhook.allowedHosts });
    // Redis down, nearly full, or too much queued: 503 with Retry-After before anything is written.
    await this.backpressure.admit(
      job.pairs,
      job.documents.reduce((n, d) => n + d.length, 0),
    );
    // A model no live worker serves (placement; RERANK_REFUSE_UNSERVED=all): 503 before anything is written.
    await this.models.requireServed(job.model, 'job');
    const id = newJobId();
    const requestHash = sha256(JSON.stringify(body));
    const keyHash = idempotencyKey === undefined ? null : sha256(idempotencyKey);
    if (keyHash) {
      const existing = await this.store.claimIdempotencyKey(owner, keyHash, id, requestHash, this.config.jobs.resultTtlSeconds);
      if (existing) {
        if (existing.body !== requestHash) {
          throw new ApiError(
            409,
            'idempotency_key_reused',
            'Idempotency-Key: this key was used with a different request body; use a new key for a new job',
            'Idempotency-Key',
            undefined,
            {
              job_id: existing.job,
            },
          );
        }
        const record = await this.store.get(existing.job);
        if (!record) {
          throw new ApiError(
            409,
            'idempotency_key_in_use',
            'Idempotency-Key: the first request with this key is still being queued; retry in a moment',
            'Idempotency-Key',
          );
        }
        return { status: 200, body: await this.view(record, base) };
      }
    }

    try {
      await this.rateLimits.consumePairs(
        owner,
        job.pairs,
        res,
        body !== null && typeof body === 'object' && 'query' in body ? 'documents' : 'queries',
      );
    } catch (e) {
      if (keyHash) await this.store.releaseIdempotencyKey(owner, keyHash).catch(() => undefined);
      throw e;
    }

    const t = Date.now();
    const shards = planShards(
      { queries: job.queries, sets: job.sets, documentLengths: job.documents.map((d) => d.length) },
      this.config.shard,
    );
    try {
      const requestId = currentRequestId();
      await this.store.create({
        id,
        owner,
        createdAt: t,
        job,
        shardsTotal: shards.length,
        baseUrl: base,
        requestHash,
        ...(requestId ? { requestId } : {}),
      });
      // After create: the job hash exists, so a concurrent claim does not prune this job's slot.
      await this.rateLimits.claimActiveJob(owner, id, res);
      await this.backpressure.track(id, job.pairs);
      await this.queues.addJob(id, job.model, shards, { priority: job.priority, owner });
      await this.store.activate(id);
    } catch (e) {
      const cleanUp = async () => {
        await this.store.discard(id, owner).catch(() => undefined);
        if (keyHash) await this.store.releaseIdempotencyKey(owner, keyHash).catch(() => undefined);
        await this.rateLimits.releaseActiveJob(owner, id).catch(() => undefined);
      };
      // With Redis gone the clean-up would wait for the command timeout: answer first (the job's keys expire anyway).
      if (this.store.connected) await cleanUp();
      else void cleanUp();
      if (e instanceof ApiError) throw e;
      if (!isRedisUnavailable(e)) {
        // Not an outage: a 500 with the stack in the log (the error filter), never "retry later".
        this.log.error(`job ${id} could not be queued: ${(e as Error)?.stack ?? String(e)}`);
        throw e;
      }
      this.log.error(`job ${id} could not be queued: ${(e as Error).message}`);
      throw new ApiError(503, 'queue_unavailable', 'the job could not be queued (Redis unavailable); nothing was stored, retry later');
    }
    this.metrics?.counter('rerank_jobs_total', { outcome: 'accepted' });
    this.log.log(
      `job ${id} queued: ${job.queries.length} queries, ${job.documents.length} documents, ${job.pairs} pairs in ${shards.length} shards (${Date.now() - t} ms)`,
    );
    return {
      status: 202,
      body: {
        id,
        object: 'rerank.job',
        status: 'queued',
        model: job.model,
        created_at: new Date(t).toISOString(),
        counts: { queries: job.queries.length, documents: job.documents.length, pairs: job.pairs },
        progress: { shards_done: 0, shards_total: shards.length, pairs_done: 0, pairs_total: job.pairs },
        links: jobLinks(id, base),
      },
    };
  }

  /** A job of this owner, or 404 (another key's job looks exactly like a missing one). */
  async owned(id: string, owner: string): Promise<JobRecord> {
    const record = JOB_ID.test(id) ? await this.store.get(id) : null;
    if (!record || record.owner !== owner) throw this.missing(id);
    return record;
  }

  private missing(id: string): ApiError {
    return notFound(`no job ${JSON.stringify(id)} for this API key (finished jobs expire after ${this.config.jobs.resultTtlSeconds} s)`);
  }

  async view(record: JobRecord, base: string) {
    return jobView(record, await this.store.progress(record.id), base);
  }

  /** The caller's jobs, newest first, a page at a time (the query string as sent: limit, cursor, status, created_after, created_before). */
  async list(params: URLSearchParams, owner: string, base: string): Promise<JobList> {
    const query = validateJobListQuery(params);
    const page = await this.store.listOwned(owner, query);
    return {
      object: 'list',
      data: page.jobs.map((j) => jobView(j.record, j.progress, base)),
      has_more: page.next !== null,
      next_cursor: page.next ? encodeJobCursor(page.next) : null,
    };
  }

  /** GET /v1/jobs/{id}: the job and its progress in one Redis round trip (clients poll this). */
  async get(id: string, owner: string, base: string) {
    const found = JOB_ID.test(id) ? await this.store.getWithProgress(id) : null;
    if (!found || found.record.owner !== owner) throw this.missing(id);
    return jobView(found.record, found.progress, base);
  }

  async cancel(id: string, owner: string, base: string) {
    const record = await this.owned(id, owner);
    if (record.status !== 'queued' && record.status !== 'running') {
      throw new ApiError(409, 'job_finished', `job ${id} is already ${record.status}; only queued or running jobs can be cancelled`);
    }
    const changed = await this.store.finish(id, 'cancelled');
    if (!changed) {
      const now = await this.store.status(id);
      throw new ApiError(409, 'job_finished', `job ${id} became ${now} before the cancel; nothing to cancel`);
    }
    // The job's keys expire even if its aggregation never runs; the aggregator drops the documents when it does.
    await this.store.expire(id, this.config.jobs.resultTtlSeconds, true);
    // Shards no worker took yet are removed; one being scored finishes (workers check before scoring).
    await this.queues.cancelPendingShards(id).catch((e: Error) => this.log.warn(`job ${id}: removing unstarted shards: ${e.message}`));
    if (record.webhook) await this.queues.queueWebhook(id, 'cancelled');
    this.metrics?.counter('rerank_jobs_total', { outcome: 'cancelled' });
    this.metrics?.observe('rerank_job_duration_seconds', { outcome: 'cancelled' }, Math.max(0, (Date.now() - record.createdAt) / 1000));
    this.log.log(`job ${id} cancelled`);
    return this.get(id, owner, base);
  }

  private async completed(id: string, owner: string): Promise<JobRecord> {
    const record = await this.owned(id, owner);
    if (record.status !== 'completed') {
      const why =
        record.status === 'failed'
          ? ` (error: ${record.error?.message})`
          : record.status === 'cancelled'
            ? ''
            : '; poll GET /v1/jobs/{id} (or use a webhook) until it completes';
      throw new ApiError(409, 'job_not_completed', `job ${id} is ${record.status}, so it has no results${why}`, undefined, undefined, {
        status: record.status,
      });
    }
    return record;
  }

  /**
   * Top-k per query; with `all`, every score as JSON lines (application/x-ndjson) whatever the
   * job's size, so clients parse one format. `format=json` (one JSON document, top-k plus `scores`
   * per query) stays for clients that ask for it; `format=jsonl` is the default said explicitly.
   */
  async results(id: string, owner: string, all: boolean, format: string | undefined, res: ServerResponse): Promise<unknown> {
    if (format !== undefined && format !== 'json' && format !== 'jsonl')
      throw invalid('format', `expected "json" or "jsonl", got ${JSON.stringify(format)}`);
    const record = await this.completed(id, owner);
    const top = (await this.store.result(id)) as QueryResult[] | null;
    if (!top) throw notFound(`the results of job ${id} have expired`);
    const head = { id, object: 'rerank.job.results', model: record.model, top_k: record.topK, metadata: record.metadata };
    if (!all) return { ...head, results: top };

    const asLines = format !== 'json';
    const ids = await this.store.documentIds(id);
    const layout = await this.store.layout(id);
    if (!layout) throw notFound(`the results of job ${id} have expired`);
    if (!asLines) {
      const results = [];
      for (const q of top) results.push({ ...q, scores: await this.store.queryScores(id, q.query_index) });
      return { ...head, results };
    }
    await this.streamLines(id, top, ids, layout, res);
    return undefined;
  }

  /** Every score as JSON lines: {"query_index", "query_id"?, "index", "id"?, "score", "scores"?}, query by query in document order. */
  private async streamLines(
    id: string,
    top: QueryResult[],
    ids: (string | number | null)[] | null,
    layout: JobLayout,
    res: ServerResponse,
  ): Promise<void> {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
    const write = (chunk: string) => (res.write(chunk) ? Promise.resolve() : new Promise<void>((r) => res.once('drain', () => r())));
    for (const q of top) {
      const scores = (await this.store.queryScores(id, q.query_index)) as PairScore[];
      const qid = q.query_id !== undefined ? `,"query_id":${JSON.stringify(q.query_id)}` : '';
      let chunk = '';
      for (let i = 0; i < scores.length; i++) {
        const s = scores[i];
        const docId = ids?.[flatIndex(layout, q.query_index, i)];
        const score = rankingScore(s);
        chunk +=
          `{"query_index":${q.query_index}${qid},"index":${i}${docId !== null && docId !== undefined ? `,"id":${JSON.stringify(docId)}` : ''},` +
          `"score":${Number.isFinite(score) ? score : null}${Array.isArray(s) ? `,"scores":${JSON.stringify(s)}` : ''}}\n`;
        if (chunk.length > 65536) {
          await write(chunk);
          chunk = '';
        }
      }
      if (chunk) await write(chunk);
    }
    res.end();
  }
}
