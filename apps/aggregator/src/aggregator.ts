/**
 * The aggregator: runs each job's aggregation parent once its shards are done (merge into top-k per
 * query, store results with a TTL, mark the job completed), and delivers webhooks with retries.
 */
import {
  type AggregationTask,
  createLogger,
  DELIVERY_HEADER,
  EVENT_HEADER,
  ATTEMPT_HEADER,
  type DocumentStore,
  flatIndex,
  formatResults,
  InfraRetryExhaustedError,
  jobView,
  type JobRecords,
  type JobResultStore,
  type Logger,
  mergeShardResults,
  postWebhook,
  type QueryResult,
  type QueueConsumer,
  rankAll,
  type RerankConfig,
  type ShardResult,
  SIGNATURE_HEADER,
  signatureHeader,
  type TerminalStatus,
  WebhookTargetError,
  WebhookTimeoutError,
  webhookPayload,
  withInfraRetry,
  type WebhookQueue,
  type WebhookStates,
  type WebhookTask,
  type WorkersRegistry,
  type JobRecord,
  type Metrics,
  type ShardProgress,
  type StoreConnection,
} from '@rerank/jobs';

/** What the aggregator needs of the job store. */
export type AggregatorJobs = StoreConnection & JobRecords & JobResultStore & WebhookStates & Pick<ShardProgress, 'progress'>;

export interface AggregatorDeps {
  jobs: AggregatorJobs;
  /** The job's texts: read for top-k entries no shard carried, removed when the job ends. */
  documents: DocumentStore;
  registry: Pick<WorkersRegistry, 'live'>;
  webhooks: WebhookQueue;
  /** Starts the queue consumers (BullMQ: consumeAggregations, consumeWebhooks), each calling back into the aggregator. */
  consume: (aggregator: Aggregator) => QueueConsumer[];
  log?: Logger;
  /** Job outcomes and webhook deliveries (AGGREGATOR_METRICS); none in unit tests. */
  metrics?: Metrics;
}

/** Fields of a job's log lines: the creating request's id follows the job into this process. */
function jobFields(id: string, record: Pick<JobRecord, 'requestId'> | null | undefined): Record<string, string> {
  return record?.requestId ? { request_id: record.requestId, job_id: id } : { job_id: id };
}

type RankLayout = Parameters<typeof flatIndex>[0];

export class Aggregator {
  private readonly log: Logger;
  private readonly store: AggregatorJobs;
  private consumers: QueueConsumer[] = [];

  constructor(
    private readonly config: Pick<RerankConfig, 'redis' | 'queue' | 'jobs' | 'webhook'>,
    private readonly deps: AggregatorDeps,
  ) {
    this.log = deps.log ?? createLogger(`aggregator pid ${process.pid}`);
    this.store = deps.jobs;
  }

  async start(): Promise<void> {
    await this.store.waitForConnection(30000);
    this.consumers = this.deps.consume(this);
    await Promise.all(this.consumers.map((c) => c.waitUntilReady()));
    this.log.info('ready: aggregating jobs and delivering webhooks');
  }

  async ready(): Promise<{ ok: boolean; redis: string; workers: number }> {
    let redis = 'ok';
    try {
      await this.store.ping();
    } catch (e) {
      redis = (e as Error).message;
    }
    const workers = redis === 'ok' ? (await this.deps.registry.live()).length : 0;
    return { ok: redis === 'ok' && this.consumers.length > 0 && this.consumers.every((c) => c.isRunning()), redis, workers };
  }

  /** A Redis read or write, retried through infrastructure errors (OOM, MISCONF, READONLY, connection) for RERANK_INFRA_RETRY_MS. */
  private op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withInfraRetry(fn, { budgetMs: this.config.redis.infraRetryMs, what, log: this.log });
  }

  /** A job's shards all ended: merge, store, complete (or fail), queue its webhook. */
  async aggregate(task: AggregationTask): Promise<unknown> {
    const id = task.jobId;
    const record = await this.op(`reading job ${id}`, () => this.store.get(id));
    if (!record) return { skipped: 'job not found' };

    const failed = await this.op(`reading the failed shards of job ${id}`, () => task.failedShards());
    if (failed.length > 0) {
      const { shard, code, message: reason } = failed[0];
      // Out of infrastructure retries or refused options: failed at once; a scoring error used every attempt.
      const message =
        code === 'scoring_failed'
          ? `shard ${shard} failed after ${this.config.queue.shardAttempts} attempt(s): ${reason}`
          : `shard ${shard} failed: ${reason}`;
      await this.finish(id, 'failed', { code: 'shard_failed', message });
      // The other shards no worker took yet need not run.
      await task.removePendingShards().catch(() => undefined);
      await this.expire(id);
      this.log.warn(`job ${id} failed: ${message}`, { ...jobFields(id, record), shard, failure: code });
      return { failed: message };
    }
    if (record.status === 'cancelled' || record.status === 'failed' || record.status === 'completed') {
      // Run again after its webhook could not be queued (Redis refused the write): queue it now (a no-op when queued).
      if (record.webhook)
        await this.op(`queueing the webhook of job ${id}`, () => this.deps.webhooks.queueWebhook(id, record.status as TerminalStatus));
      await this.expire(id);
      this.log.info(`job ${id} ${record.status}: nothing to merge`, jobFields(id, record));
      return { skipped: record.status };
    }

    const t = Date.now();
    const values = await this.op(`reading the shard scores of job ${id}`, () => task.shardResults());
    const results: ShardResult[] = [];
    const skipped: string[] = [];
    for (const v of values) {
      if ('skipped' in v) skipped.push(v.reason);
      else results.push(v);
    }
    if (skipped.length > 0) {
      // Only a job that ended meanwhile (cancel) has skipped shards.
      const status = await this.op(`reading the status of job ${id}`, () => this.store.status(id));
      if (status === 'cancelled' || status === 'failed') {
        await this.expire(id);
        return { skipped: status };
      }
      await this.finish(id, 'failed', { code: 'internal', message: `${skipped.length} shard(s) were not scored: ${skipped[0]}` });
      return { failed: 'skipped shards' };
    }
    const layout = await this.op(`reading the layout of job ${id}`, () => this.store.layout(id));
    if (!layout) throw new Error(`job ${id}: layout missing`);
    let top: QueryResult[];
    let scores;
    try {
      scores = mergeShardResults(
        results,
        layout.queries.map((q) => layout.sets[q.set].count),
      );
      const plan = rankAll(layout, scores, record.topK);
      const ids = await this.op(`reading the document ids of job ${id}`, () => this.store.documentIds(id));
      const texts = record.returnDocuments ? await this.topTexts(id, layout, plan, results) : null;
      top = formatResults(layout, plan, ids, texts);
    } catch (e) {
      if (e instanceof InfraRetryExhaustedError) throw e;
      await this.finish(id, 'failed', { code: 'internal', message: `merging shard results: ${(e as Error).message}` });
      await this.expire(id);
      throw e;
    }
    // Results first (with the expiry), then the texts go: once the job reads "completed", the results are there.
    await this.op(`storing the results of job ${id}`, () => this.store.storeResults(id, top, scores, this.config.jobs.resultTtlSeconds));
    await this.op(`removing the texts of job ${id}`, () => this.deps.documents.remove(id));
    const changed = await this.finish(id, 'completed');
    this.log.info(
      `job ${id} ${changed ? 'completed' : `ended meanwhile (${await this.store.status(id).catch(() => '?')})`}: ${record.counts.pairs} pairs in ${results.length} shards, merged in ${Date.now() - t} ms`,
      {
        ...jobFields(id, record),
        pairs: record.counts.pairs,
        shards: results.length,
      },
    );
    return { merged: results.length };
  }

  /**
   * Texts of the top-k entries, aligned with plan.flatIndices: from the shards' return values (each
   * carries its own top-k's texts), read from Redis only for any a shard did not carry.
   */
  private async topTexts(
    id: string,
    layout: RankLayout,
    plan: ReturnType<typeof rankAll>,
    results: readonly ShardResult[],
  ): Promise<(string | null)[]> {
    const carried = new Map<number, string>();
    for (const r of results) for (const [index, text] of r.texts ?? []) carried.set(flatIndex(layout, r.q, index), text);
    const texts: (string | null)[] = plan.flatIndices.map((f) => carried.get(f) ?? null);
    const missing = plan.flatIndices.filter((_, i) => texts[i] === null);
    if (missing.length > 0) {
      const read = await this.op(`reading the documents of job ${id}`, () => this.deps.documents.read(id, missing));
      let m = 0;
      for (let i = 0; i < texts.length; i++) if (texts[i] === null) texts[i] = read[m++];
    }
    return texts;
  }

  /** The job ended: its record expires after RERANK_RESULT_TTL_SECONDS, its texts go now. */
  private async expire(id: string): Promise<void> {
    await this.op(`expiring job ${id}`, () => this.store.expire(id, this.config.jobs.resultTtlSeconds));
    await this.op(`removing the texts of job ${id}`, () => this.deps.documents.remove(id));
  }

  /** Terminal status (once) and its webhook. */
  private async finish(id: string, status: TerminalStatus, error?: { code: string; message: string }): Promise<boolean> {
    const changed = await this.op(`marking job ${id} ${status}`, () => this.store.finish(id, status, error));
    if (changed === null) return false;
    // Queued when this call changed the status, and again when an earlier run changed it to the same
    // status but could not queue the webhook (its BullMQ id makes a second add a no-op).
    const record = await this.op(`reading job ${id}`, () => this.store.get(id));
    if (changed && record && this.deps.metrics) {
      this.deps.metrics.counter('rerank_jobs_total', { outcome: status });
      this.deps.metrics.observe(
        'rerank_job_duration_seconds',
        { outcome: status },
        Math.max(0, ((record.finishedAt ?? Date.now()) - record.createdAt) / 1000),
      );
    }
    if (record?.webhook && (changed || record.status === status)) {
      await this.op(`queueing the webhook of job ${id}`, () => this.deps.webhooks.queueWebhook(id, status));
    }
    return changed;
  }

  /** The aggregation itself failed for good (Redis trouble, a bug): the job must not stay "running". */
  async aggregationFailed(task: AggregationTask, e: Error): Promise<void> {
    this.log.error(`aggregation of job ${task.jobId} failed for good: ${e.message}`);
    await this.finish(task.jobId, 'failed', { code: 'aggregation_failed', message: `aggregation failed: ${e.message}` }).catch(
      () => undefined,
    );
  }

  /** One delivery attempt of a job's webhook; throws to be retried (the queue's backoff). */
  async deliver(task: WebhookTask): Promise<unknown> {
    const { jobId, event, maxAttempts, deliveryId } = task;
    const record = await this.op(`reading job ${jobId}`, () => this.store.get(jobId));
    if (!record?.webhook) return { skipped: 'job or webhook gone' };
    // Delivered already: this run repeats a delivery whose completion Redis refused to record (OOM); don't POST twice.
    if (record.webhook.state === 'delivered' && record.webhook.event === event) return { skipped: 'delivered' };
    // Every attempt was started already, the last one cut short (the aggregator died mid-POST): no more.
    if (record.webhook.attempts >= maxAttempts) {
      const error = `${record.webhook.attempts} attempt(s) started (RERANK_WEBHOOK_ATTEMPTS), the last one cut short by a stop of the aggregator`;
      await this.op(`recording a webhook failure of job ${jobId}`, () =>
        this.store.recordWebhookOutcome(jobId, { state: 'failed', status: null, error }),
      );
      return { skipped: 'attempts used' };
    }
    const view = jobView(record, await this.op(`reading the progress of job ${jobId}`, () => this.store.progress(jobId)), record.baseUrl);
    let results: QueryResult[] | null = null;
    if (event === 'completed') {
      const top = (await this.op(`reading the results of job ${jobId}`, () => this.store.result(jobId))) as QueryResult[] | null;
      const entries = top ? top.reduce((n, q) => n + q.top_k.length, 0) : Infinity;
      if (top && entries <= this.config.webhook.inlineMax) results = top;
    }
    const body = JSON.stringify(webhookPayload(view, deliveryId, results));
    // Counted as it starts (before the POST): an attempt cut short still counts, and the next one says so.
    const attempt = await this.op(`recording a webhook attempt of job ${jobId}`, () =>
      this.store.recordWebhookAttempt(jobId, event, Date.now()),
    );
    if (attempt === null) return { skipped: 'job or webhook gone' };
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'rerank-webhooks/1',
      [DELIVERY_HEADER]: deliveryId,
      [EVENT_HEADER]: `job.${event}`,
      [ATTEMPT_HEADER]: String(attempt),
    };
    if (record.webhookSecret) headers[SIGNATURE_HEADER] = signatureHeader(record.webhookSecret, body);

    let status: number | null = null;
    let error: string | null = null;
    try {
      // Never send unsigned what the client asked to have signed.
      if (record.webhookSecretError) throw new Error(record.webhookSecretError);
      // Resolves the host once, checks it against the SSRF policy and connects to that address only; 3xx is not followed.
      const res = await postWebhook(record.webhook.url, body, headers, {
        policy: { allowed: this.config.webhook.allowedHosts },
        timeoutMs: this.config.webhook.timeoutMs,
      });
      status = res.status;
      if (status < 200 || status >= 300) error = `receiver answered HTTP ${status}`;
    } catch (e) {
      const err = e as Error;
      if (err instanceof WebhookTimeoutError) error = `no answer within ${this.config.webhook.timeoutMs} ms (RERANK_WEBHOOK_TIMEOUT_MS)`;
      else if (err instanceof WebhookTargetError) error = `refused: ${err.message}`;
      else error = err.message;
    }
    if (error === null) {
      const deliveredAt = Date.now();
      await this.op(`recording the webhook delivery of job ${jobId}`, () =>
        this.store.recordWebhookOutcome(jobId, { state: 'delivered', status, at: deliveredAt }),
      );
      this.deps.metrics?.counter('rerank_webhook_deliveries_total', { outcome: 'delivered' });
      this.deps.metrics?.observe('rerank_webhook_delivery_attempts', { outcome: 'delivered' }, attempt);
      this.log.info(`webhook job.${event} of ${jobId} delivered (attempt ${attempt}, HTTP ${status})`, {
        ...jobFields(jobId, record),
        delivery_id: deliveryId,
        attempt,
        status,
      });
      return { status };
    }
    const final = attempt >= maxAttempts;
    await this.op(`recording a webhook failure of job ${jobId}`, () =>
      this.store.recordWebhookOutcome(jobId, { state: final ? 'failed' : 'retrying', status, error }),
    );
    this.deps.metrics?.counter('rerank_webhook_deliveries_total', { outcome: final ? 'failed' : 'retried' });
    if (final) this.deps.metrics?.observe('rerank_webhook_delivery_attempts', { outcome: 'failed' }, attempt);
    this.log.warn(
      `webhook job.${event} of ${jobId}, attempt ${attempt}/${maxAttempts}: ${error}${final ? '; giving up (recorded on the job)' : '; will retry'}`,
      {
        ...jobFields(jobId, record),
        delivery_id: deliveryId,
        attempt,
        ...(status !== null ? { status } : {}),
      },
    );
    throw new Error(error);
  }

  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.close()));
  }
}
