import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Metrics } from '@rerank/jobs';
import {
  ApiError,
  type CancelSignals,
  checkWebhookUrl,
  type DocumentStore,
  type IdempotencyClaim,
  flatIndex,
  invalid,
  type ItemId,
  type JobLayout,
  type JobRecord,
  jobLinks,
  jobSchedule,
  type JobStore,
  jobView,
  notFound,
  type PairScore,
  planShards,
  type QueryResult,
  type RerankConfig,
  encodeJobCursor,
  type JobAcceptedBody,
  type JobView,
  type ScoringQueue,
  rankingScore,
  validateJobListQuery,
  validateJobRequest,
} from '@rerank/jobs';
import { BackpressureService, storeRefusal } from './backpressure';
import { ModelsService } from './models.service';
import { RateLimitService } from './rate-limit.service';
import { currentRequestId } from './observability';
import { CANCEL_SIGNALS, CONFIG, DOCUMENT_STORE, JOB_STORE, METRICS, SCORING_QUEUE } from './tokens';

export function newJobId(): string {
  return `job_${randomBytes(12).toString('base64url')}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The first request with an Idempotency-Key is still creating its job. */
function retryLater409(seconds: number): ApiError {
  return new ApiError(
    409,
    'idempotency_key_in_use',
    'Idempotency-Key: the first request with this key is still being queued; retry in a moment',
    {
      field: 'Idempotency-Key',
      extra: { retry_after_seconds: seconds },
      headers: { 'retry-after': String(seconds) },
    },
  );
}

/** Steps of a job's creation, in order: the test hook RERANK_TEST_FAULT_AFTER names one (with RERANK_TEST_HOOKS=1). */
export type CreationStep = 'claim' | 'documents' | 'record' | 'quota' | 'queue' | 'activate';

/** GET /v1/jobs: a page of the caller's jobs. */
export interface JobList {
  object: 'list';
  data: JobView[];
  has_more: boolean;
  next_cursor: string | null;
}

/** 202 with what is known of a new job, or 200 with the existing job for the replay of an Idempotency-Key. */
export type CreateResult = { status: 202; body: JobAcceptedBody } | { status: 200; body: JobView };

/** GET /v1/jobs/{id}/results: one JSON document, or every score as JSON lines (chunks of whole lines). */
export type ResultsAnswer = { kind: 'json'; body: unknown } | { kind: 'lines'; lines: AsyncIterable<string> };

/** The shape of ids this API issues: anything else is a 404 without a Redis read. */
const JOB_ID = /^job_[A-Za-z0-9_-]{1,64}$/;

/** Asynchronous jobs: accept (validate, shard, queue), read, cancel, results. */
@Injectable()
export class JobsService {
  private readonly log = new Logger('jobs');

  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(DOCUMENT_STORE) private readonly documents: DocumentStore,
    @Inject(SCORING_QUEUE) private readonly queues: ScoringQueue,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
    private readonly backpressure: BackpressureService,
    @Inject(CANCEL_SIGNALS) private readonly cancels: Pick<CancelSignals, 'publish'>,
    /** Jobs accepted and cancelled (the aggregator counts completed and failed). */
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  async create(body: unknown, tenant: string, idempotencyKey: string | undefined, base: string): Promise<CreateResult> {
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
    // The key is held under a lease while the job is created, renewed before each step and
    // committed once the job is visible: a creation cut short lets a retry take the key over.
    let claim: IdempotencyClaim | null = null;
    if (keyHash) {
      claim = { job: id, body: requestHash, leaseUntil: Date.now() + this.config.jobs.idempotencyLeaseMs };
      const replay = await this.claimKey(tenant, keyHash, claim, base);
      if (replay) return replay;
      this.faultAfter('claim');
    }
    const releaseKey = async () => {
      if (keyHash && claim) await this.store.releaseIdempotencyKey(tenant, keyHash, claim).catch(() => undefined);
    };
    const renew = async () => {
      if (!keyHash || !claim) return;
      const next = { ...claim, leaseUntil: Date.now() + this.config.jobs.idempotencyLeaseMs };
      if (!(await this.store.updateIdempotencyKey(tenant, keyHash, claim, next, this.config.jobs.resultTtlSeconds))) {
        claim = null;
        throw new ApiError(
          409,
          'idempotency_key_in_use',
          'Idempotency-Key: a retry with this key took it over while this request was being queued',
          {
            field: 'Idempotency-Key',
          },
        );
      }
      claim = next;
    };

    try {
      await this.rateLimits.consumePairs(
        tenant,
        job.pairs,
        body !== null && typeof body === 'object' && 'query' in body ? 'documents' : 'queries',
      );
    } catch (e) {
      await releaseKey();
      throw e;
    }

    const t = Date.now();
    const shards = planShards(
      { queries: job.queries, sets: job.sets, documentLengths: job.documents.map((d) => d.length) },
      this.config.shard,
    );
    let queued = false;
    try {
      const requestId = currentRequestId();
      await renew();
      await this.documents.write(id, job.documents);
      this.faultAfter('documents');
      await renew();
      // Pending: nobody sees the job until its shards are queued (activate).
      await this.store.create({
        id,
        tenant,
        createdAt: t,
        job,
        shardsTotal: shards.length,
        baseUrl: base,
        requestHash,
        ...(requestId ? { requestId } : {}),
      });
      this.faultAfter('record');
      await renew();
      // After create: the job hash exists, so a concurrent claim does not prune this job's slot.
      await this.rateLimits.claimActiveJob(tenant, id);
      await this.backpressure.track(id, job.pairs);
      this.faultAfter('quota');
      // The last renewal: the lease outlasts addJob (it gives up after the command timeout + 1 s).
      await renew();
      await this.queues.addJob(id, job.model, shards, jobSchedule(tenant, id, job.priority));
      queued = true;
      this.faultAfter('queue');
      await this.finishCreation(id);
      this.faultAfter('activate');
    } catch (e) {
      const cleanUp = async () => {
        if (queued) await this.queues.cancelPendingShards(id).catch(() => undefined);
        await this.store.discard(id, tenant).catch(() => undefined);
        await this.documents.remove(id).catch(() => undefined);
        await releaseKey();
        await this.rateLimits.releaseActiveJob(tenant, id).catch(() => undefined);
      };
      // With Redis gone the clean-up would wait for the command timeout: answer first (the job's keys expire anyway).
      if (this.store.connected()) await cleanUp();
      else void cleanUp();
      if (e instanceof ApiError) throw e;
      const refusal = storeRefusal(e, 'queue_unavailable');
      if (!refusal) {
        // Not an outage nor a refusal: a 500 with the stack in the log (the error filter), never "retry later".
        this.log.error(`job ${id} could not be queued: ${(e as Error)?.stack ?? String(e)}`);
        throw e;
      }
      this.log.error(`job ${id} could not be queued: ${(e as Error).message}`);
      throw refusal;
    }
    // The job exists completely: the key names it for good (a retry that completed it first committed it already).
    if (keyHash && claim) {
      await this.store
        .updateIdempotencyKey(tenant, keyHash, claim, { job: id, body: requestHash }, this.config.jobs.resultTtlSeconds)
        .catch((e: Error) => this.log.warn(`job ${id}: committing its Idempotency-Key: ${e.message} (a retry commits it)`));
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

  /** The last step of a creation, also run by a retry completing one cut short after its shards were queued (idempotent). */
  private async finishCreation(id: string): Promise<void> {
    await this.store.activate(id);
    await this.documents.keep(id);
  }

  /**
   * Claims an Idempotency-Key for a new job: null when claimed (also when taken over from a request
   * that died before queueing its job), or the answer to a replay: the job the key made (200), a
   * creation that died after queueing its shards completed here (200), 409 when the key was used
   * with another body or its job is still being created.
   */
  private async claimKey(tenant: string, keyHash: string, claim: IdempotencyClaim, base: string): Promise<CreateResult | null> {
    const ttl = this.config.jobs.resultTtlSeconds;
    let held = await this.store.claimIdempotencyKey(tenant, keyHash, claim, ttl);
    // A few rounds: between two reads another retry may take the key over or commit it.
    for (let round = 0; held && round < 3; round++) {
      if (held.body !== claim.body) {
        throw new ApiError(
          409,
          'idempotency_key_reused',
          'Idempotency-Key: this key was used with a different request body; use a new key for a new job',
          { field: 'Idempotency-Key', extra: { job_id: held.job } },
        );
      }
      const record = await this.store.get(held.job);
      const creating = held.leaseUntil !== undefined;
      if (record && (!record.pending || record.status !== 'queued' || (creating && (await this.queues.hasJob(record.id))))) {
        // The job is queued; when its request died before the end, finish the creation for it.
        if (creating) {
          await this.finishCreation(record.id);
          await this.store.updateIdempotencyKey(tenant, keyHash, held, { job: held.job, body: held.body }, ttl);
        }
        return { status: 200, body: await this.view((await this.store.get(record.id)) ?? record, base) };
      }
      const leaseLeftMs = creating ? (held.leaseUntil as number) - Date.now() : Infinity;
      if (leaseLeftMs > 0) {
        throw retryLater409(Number.isFinite(leaseLeftMs) ? Math.ceil(leaseLeftMs / 1000) : 1);
      }
      // The request holding the key died before queueing its job: take the key over, drop what it left.
      const lapsed = held;
      held = await this.store.claimIdempotencyKey(tenant, keyHash, claim, ttl, lapsed);
      if (!held) {
        this.log.warn(`Idempotency-Key of job ${lapsed.job}: its creation stopped before the job was queued; a retry takes it over`);
        await this.store.discard(lapsed.job, tenant).catch(() => undefined);
        await this.documents.remove(lapsed.job).catch(() => undefined);
        await this.rateLimits.releaseActiveJob(tenant, lapsed.job).catch(() => undefined);
      }
    }
    if (held) throw retryLater409(1);
    return null;
  }

  /** Test hook: the process dies right after `step` of a job's creation (RERANK_TEST_FAULT_AFTER, only with RERANK_TEST_HOOKS=1). */
  private faultAfter(step: CreationStep): void {
    const { testHooks, faultAfter } = this.config.harness;
    if (testHooks && faultAfter === step) process.kill(process.pid, 'SIGKILL');
  }

  /** A job of this tenant, or 404 (another key's job, or one whose creation has not finished, looks exactly like a missing one). */
  async owned(id: string, tenant: string): Promise<JobRecord> {
    const record = JOB_ID.test(id) ? await this.store.get(id) : null;
    if (!record || record.tenant !== tenant || record.pending) throw this.missing(id);
    return record;
  }

  private missing(id: string): ApiError {
    return notFound(`no job ${JSON.stringify(id)} for this API key (finished jobs expire after ${this.config.jobs.resultTtlSeconds} s)`);
  }

  async view(record: JobRecord, base: string) {
    return jobView(record, await this.store.progress(record.id), base);
  }

  /** The caller's jobs, newest first, a page at a time (the query string as sent: limit, cursor, status, created_after, created_before). */
  async list(params: URLSearchParams, tenant: string, base: string): Promise<JobList> {
    const query = validateJobListQuery(params);
    const page = await this.store.listOwned(tenant, query);
    return {
      object: 'list',
      data: page.jobs.map((j) => jobView(j.record, j.progress, base)),
      has_more: page.next !== null,
      next_cursor: page.next ? encodeJobCursor(page.next) : null,
    };
  }

  /** GET /v1/jobs/{id}: the job and its progress in one Redis round trip (clients poll this). */
  async get(id: string, tenant: string, base: string) {
    const found = JOB_ID.test(id) ? await this.store.getWithProgress(id) : null;
    if (!found || found.record.tenant !== tenant || found.record.pending) throw this.missing(id);
    return jobView(found.record, found.progress, base);
  }

  async cancel(id: string, tenant: string, base: string) {
    const record = await this.owned(id, tenant);
    if (record.status !== 'queued' && record.status !== 'running') {
      throw new ApiError(409, 'job_finished', `job ${id} is already ${record.status}; only queued or running jobs can be cancelled`);
    }
    const changed = await this.store.finish(id, 'cancelled');
    if (!changed) {
      const now = await this.store.status(id);
      throw new ApiError(409, 'job_finished', `job ${id} became ${now} before the cancel; nothing to cancel`);
    }
    // The job expires even if its aggregation never runs; its texts stay for a shard in flight until the
    // aggregator drops them, or expire with it.
    await this.store.expire(id, this.config.jobs.resultTtlSeconds);
    await this.documents.expire(id, this.config.jobs.resultTtlSeconds);
    // Shards no worker took yet leave the queue (workers also check the status before scoring one);
    // workers scoring one drop its pairs not yet on a device at their next batch.
    await this.queues.cancelPendingShards(id).catch((e: Error) => this.log.warn(`job ${id}: removing unstarted shards: ${e.message}`));
    await this.cancels.publish({ kind: 'job', id }).catch((e: Error) => this.log.warn(`job ${id}: telling the workers: ${e.message}`));
    if (record.webhook) await this.queues.queueWebhook(id, 'cancelled');
    this.metrics?.counter('rerank_jobs_total', { outcome: 'cancelled' });
    this.metrics?.observe('rerank_job_duration_seconds', { outcome: 'cancelled' }, Math.max(0, (Date.now() - record.createdAt) / 1000));
    this.log.log(`job ${id} cancelled`);
    return this.get(id, tenant, base);
  }

  private async completed(id: string, tenant: string): Promise<JobRecord> {
    const record = await this.owned(id, tenant);
    if (record.status !== 'completed') {
      const why =
        record.status === 'failed'
          ? ` (error: ${record.error?.message})`
          : record.status === 'cancelled'
            ? ''
            : '; poll GET /v1/jobs/{id} (or use a webhook) until it completes';
      throw new ApiError(409, 'job_not_completed', `job ${id} is ${record.status}, so it has no results${why}`, {
        extra: { status: record.status },
      });
    }
    return record;
  }

  /**
   * Top-k per query; with `all`, every score as JSON lines (application/x-ndjson) whatever the
   * job's size, so clients parse one format. `format=json` (one JSON document, top-k plus `scores`
   * per query) stays for clients that ask for it; `format=jsonl` is the default said explicitly.
   */
  async results(id: string, tenant: string, all: boolean, format: string | undefined): Promise<ResultsAnswer> {
    if (format !== undefined && format !== 'json' && format !== 'jsonl')
      throw invalid('format', `expected "json" or "jsonl", got ${JSON.stringify(format)}`);
    const record = await this.completed(id, tenant);
    const top = (await this.store.result(id)) as QueryResult[] | null;
    if (!top) throw notFound(`the results of job ${id} have expired`);
    const head = { id, object: 'rerank.job.results', model: record.model, top_k: record.topK, metadata: record.metadata };
    if (!all) return { kind: 'json', body: { ...head, results: top } };

    const ids = await this.store.documentIds(id);
    const layout = await this.store.layout(id);
    if (!layout) throw notFound(`the results of job ${id} have expired`);
    if (format === 'json') {
      const results = [];
      for (const q of top) results.push({ ...q, scores: await this.store.queryScores(id, q.query_index) });
      return { kind: 'json', body: { ...head, results } };
    }
    return { kind: 'lines', lines: this.scoreLines(id, top, ids, layout) };
  }

  /** Every score as JSON lines: {"query_index", "query_id"?, "index", "id"?, "score", "scores"?}, query by query in document order, in chunks of about 64 KiB. */
  private async *scoreLines(id: string, top: QueryResult[], ids: (ItemId | null)[] | null, layout: JobLayout): AsyncGenerator<string> {
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
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
  }
}
