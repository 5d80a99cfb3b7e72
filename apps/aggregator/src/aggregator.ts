/**
 * The aggregator: runs each job's aggregation parent once its shards are done (merge into top-k per
 * query, store results with a TTL, mark the job completed), and delivers webhooks with retries.
 */
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type AggregateJobData,
  BULL_PREFIX,
  createLogger,
  createRedis,
  DELIVERY_HEADER,
  enqueueWebhook,
  EVENT_HEADER,
  ATTEMPT_HEADER,
  formatResults,
  jobView,
  JobStore,
  mergeShardResults,
  postWebhook,
  QUEUE_AGGREGATE,
  QUEUE_WEBHOOKS,
  type QueryResult,
  rankAll,
  type RerankConfig,
  type ShardResult,
  type ShardReturn,
  SIGNATURE_HEADER,
  signatureHeader,
  type TerminalStatus,
  WebhookTargetError,
  WebhookTimeoutError,
  waitForRedis,
  webhookPayload,
  withInfraRetry,
  type WebhookJobData,
  workerQueueOptions,
  WorkersRegistry,
} from '@rerank/jobs';

export class Aggregator {
  private readonly log = createLogger(`aggregator pid ${process.pid}`);
  private readonly redis: Redis;
  private readonly store: JobStore;
  private readonly webhooks: Queue<WebhookJobData>;
  private readonly registry: WorkersRegistry;
  private workers: Worker[] = [];

  constructor(private readonly config: RerankConfig) {
    this.redis = createRedis(config.redisUrl, { name: 'rerank-aggregator' });
    this.store = new JobStore(this.redis, { secretKey: config.security.secretKey });
    this.registry = new WorkersRegistry(this.redis);
    this.webhooks = new Queue<WebhookJobData>(QUEUE_WEBHOOKS, { connection: this.redis, prefix: BULL_PREFIX });
  }

  async start(): Promise<void> {
    await waitForRedis(this.redis, 30000);
    const opts = workerQueueOptions(this.config);
    const aggregate = new Worker<AggregateJobData>(QUEUE_AGGREGATE, (job) => this.aggregate(job), {
      connection: createRedis(this.config.redisUrl, { blocking: true, name: 'rerank-aggregator-bull' }),
      concurrency: 2,
      ...opts,
    });
    aggregate.on('failed', (job, e) => void this.aggregationFailed(job, e));
    const webhooks = new Worker<WebhookJobData>(QUEUE_WEBHOOKS, (job) => this.deliver(job), {
      connection: createRedis(this.config.redisUrl, { blocking: true, name: 'rerank-webhooks-bull' }),
      concurrency: 8,
      ...opts,
    });
    this.workers = [aggregate, webhooks];
    for (const w of this.workers) w.on('error', (e) => this.log.error(`${w.name}: ${e.message}`));
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.log.info('ready: aggregating jobs and delivering webhooks');
  }

  async ready(): Promise<{ ok: boolean; redis: string; workers: number }> {
    let redis = 'ok';
    try {
      await this.redis.ping();
    } catch (e) {
      redis = (e as Error).message;
    }
    const workers = redis === 'ok' ? (await this.registry.live()).length : 0;
    return { ok: redis === 'ok' && this.workers.length > 0 && this.workers.every((w) => w.isRunning()), redis, workers };
  }

  /** A Redis read or write, retried through infrastructure errors (OOM, READONLY, connection) for RERANK_INFRA_RETRY_MS. */
  private op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withInfraRetry(fn, { budgetMs: this.config.infraRetryMs, what, log: this.log });
  }

  private async aggregate(job: Job<AggregateJobData>): Promise<unknown> {
    const id = job.data.jobId;
    const ttl = this.config.resultTtlSeconds;
    const record = await this.op(`reading job ${id}`, () => this.store.get(id));
    if (!record) return { skipped: 'job not found' };

    const failed = await this.op(`reading the failed shards of job ${id}`, () => job.getFailedChildrenValues());
    const failedKeys = Object.keys(failed);
    if (failedKeys.length > 0) {
      const shard = /-s(\d+)$/.exec(failedKeys[0])?.[1] ?? '?';
      const reason = String(failed[failedKeys[0]]);
      // A shard out of infrastructure retries failed once, with Redis's reason; others used their attempts.
      const message = /^Redis unavailable/.test(reason) ? `shard ${shard} failed: ${reason}` : `shard ${shard} failed after ${this.config.queue.shardAttempts} attempt(s): ${reason}`;
      await this.finish(id, 'failed', { error: message, error_code: 'shard_failed' });
      // The other shards no worker took yet need not run.
      await job.removeUnprocessedChildren().catch(() => undefined);
      await this.op(`expiring job ${id}`, () => this.store.expire(id, ttl));
      this.log.warn(`job ${id} failed: ${message}`);
      return { failed: message };
    }
    if (record.status === 'cancelled' || record.status === 'failed' || record.status === 'completed') {
      // Run again after its webhook could not be queued (Redis refused the write): queue it now (a no-op when queued).
      if (record.webhook) await this.op(`queueing the webhook of job ${id}`, () => enqueueWebhook(this.webhooks, this.config, id, record.status as TerminalStatus));
      await this.op(`expiring job ${id}`, () => this.store.expire(id, ttl));
      this.log.info(`job ${id} ${record.status}: nothing to merge`);
      return { skipped: record.status };
    }

    const t = Date.now();
    const values = await this.op(`reading the shard scores of job ${id}`, () => job.getChildrenValues<ShardReturn>());
    const results: ShardResult[] = [];
    const skipped: string[] = [];
    for (const v of Object.values(values)) {
      if ('skipped' in v) skipped.push(v.reason);
      else results.push(v);
    }
    if (skipped.length > 0) {
      // Only a job that ended meanwhile (cancel) has skipped shards.
      const status = await this.op(`reading the status of job ${id}`, () => this.store.status(id));
      if (status === 'cancelled' || status === 'failed') {
        await this.op(`expiring job ${id}`, () => this.store.expire(id, ttl));
        return { skipped: status };
      }
      await this.finish(id, 'failed', { error: `${skipped.length} shard(s) were not scored: ${skipped[0]}`, error_code: 'internal' });
      return { failed: 'skipped shards' };
    }
    const layout = await this.op(`reading the layout of job ${id}`, () => this.store.layout(id));
    if (!layout) throw new Error(`job ${id}: layout missing`);
    let top: QueryResult[];
    let scores;
    try {
      scores = mergeShardResults(results, layout.queries.map((q) => layout.sets[q.set].count));
      const plan = rankAll(layout, scores, record.topK);
      const [ids, texts] = await this.op(`reading the documents of job ${id}`, () =>
        Promise.all([this.store.documentIds(id), record.returnDocuments ? this.store.documents(id, plan.flatIndices) : null]),
      );
      top = formatResults(layout, plan, ids, texts);
    } catch (e) {
      if (e instanceof Error && e.name === 'InfraRetryExhaustedError') throw e;
      await this.finish(id, 'failed', { error: `merging shard results: ${(e as Error).message}`, error_code: 'internal' });
      await this.op(`expiring job ${id}`, () => this.store.expire(id, ttl));
      throw e;
    }
    // Results first: once the job reads "completed", they are there.
    await this.op(`storing the results of job ${id}`, () => this.store.storeResults(id, top, scores, ttl));
    const changed = await this.finish(id, 'completed', {});
    this.log.info(`job ${id} ${changed ? 'completed' : `ended meanwhile (${await this.store.status(id).catch(() => '?')})`}: ${record.counts.pairs} pairs in ${results.length} shards, merged in ${Date.now() - t} ms`);
    return { merged: results.length };
  }

  /** Terminal status (once) and its webhook. */
  private async finish(id: string, status: TerminalStatus, fields: Record<string, string | number>): Promise<boolean> {
    const changed = await this.op(`marking job ${id} ${status}`, () => this.store.finish(id, status, fields));
    if (changed === null) return false;
    // Queued when this call changed the status, and again when an earlier run changed it to the same
    // status but could not queue the webhook (its BullMQ id makes a second add a no-op).
    const record = await this.op(`reading job ${id}`, () => this.store.get(id));
    if (record?.webhook && (changed || record.status === status)) {
      await this.op(`queueing the webhook of job ${id}`, () => enqueueWebhook(this.webhooks, this.config, id, status));
    }
    return changed;
  }

  /** The aggregation itself failed for good (Redis trouble, a bug): the job must not stay "running". */
  private async aggregationFailed(job: Job<AggregateJobData> | undefined, e: Error): Promise<void> {
    if (!job) return;
    if (job.attemptsMade < (job.opts.attempts ?? 1)) return;
    this.log.error(`aggregation of job ${job.data.jobId} failed for good: ${e.message}`);
    await this.finish(job.data.jobId, 'failed', { error: `aggregation failed: ${e.message}`, error_code: 'aggregation_failed' }).catch(() => undefined);
  }

  private async deliver(job: Job<WebhookJobData>): Promise<unknown> {
    const { jobId, event } = job.data;
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const record = await this.op(`reading job ${jobId}`, () => this.store.get(jobId));
    if (!record?.webhook) return { skipped: 'job or webhook gone' };
    // Delivered already: this run repeats a delivery whose completion Redis refused to record (OOM); don't POST twice.
    if (record.webhook.state === 'delivered' && record.webhook.event === event) return { skipped: 'delivered' };
    const view = jobView(record, await this.op(`reading the progress of job ${jobId}`, () => this.store.progress(jobId)), record.baseUrl);
    let results: QueryResult[] | null = null;
    if (event === 'completed') {
      const top = (await this.op(`reading the results of job ${jobId}`, () => this.store.result(jobId))) as QueryResult[] | null;
      const entries = top ? top.reduce((n, q) => n + q.top_k.length, 0) : Infinity;
      if (top && entries <= this.config.webhook.inlineMax) results = top;
    }
    const deliveryId = String(job.id);
    const body = JSON.stringify(webhookPayload(view, deliveryId, results));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'rerank-webhooks/1',
      [DELIVERY_HEADER]: deliveryId,
      [EVENT_HEADER]: `job.${event}`,
      [ATTEMPT_HEADER]: String(attempt),
    };
    if (record.webhookSecret) headers[SIGNATURE_HEADER] = signatureHeader(record.webhookSecret, body);
    const now = Date.now();
    await this.op(`recording a webhook attempt of job ${jobId}`, () => this.store.updateWebhook(jobId, { webhook_event: event, webhook_attempts: attempt, webhook_last_attempt_at: now }));

    let status: number | null = null;
    let error: string | null = null;
    try {
      // Never send unsigned what the client asked to have signed.
      if (record.webhookSecretError) throw new Error(record.webhookSecretError);
      // Resolves the host once, checks it against the SSRF policy and connects to that address only; 3xx is not followed.
      const res = await postWebhook(record.webhook.url, body, headers, { policy: { allowed: this.config.security.webhookAllowedHosts }, timeoutMs: this.config.webhook.timeoutMs });
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
        this.store.updateWebhook(jobId, { webhook_state: 'delivered', webhook_last_status: status ?? '', webhook_last_error: '', webhook_delivered_at: deliveredAt }),
      );
      this.log.info(`webhook job.${event} of ${jobId} delivered (attempt ${attempt}, HTTP ${status})`);
      return { status };
    }
    const final = attempt >= maxAttempts;
    await this.op(`recording a webhook failure of job ${jobId}`, () =>
      this.store.updateWebhook(jobId, { webhook_state: final ? 'failed' : 'retrying', webhook_last_status: status ?? '', webhook_last_error: error as string }),
    );
    this.log.warn(`webhook job.${event} of ${jobId}, attempt ${attempt}/${maxAttempts}: ${error}${final ? '; giving up (recorded on the job)' : '; will retry'}`);
    throw new Error(error);
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.webhooks.close();
    await this.redis.quit().catch(() => undefined);
  }
}
