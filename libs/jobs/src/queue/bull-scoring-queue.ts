/**
 * The producer side of the scoring queues on BullMQ (the API's ScoringQueue): a job is a flow
 * (bull-flow.ts) whose shards get fair priorities (shard-priority.ts), a synchronous request one
 * part waited on through the sync queue's events.
 */
import { FlowProducer, type Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RerankConfig } from '../config';
import { type AggregateJobData, BULL_PREFIX, QUEUE_AGGREGATE, QUEUE_SHARDS, QUEUE_SYNC, QUEUE_WEBHOOKS, type ScoringJobData, type SyncJobData, type SyncReturn, type TerminalStatus, type WebhookJobData } from '../queues';
import { createRedis } from '../redis';
import type { ShardPlan } from '../sharding';
import { buildFlow, enqueueWebhook } from './bull-flow';
import type { JobSchedule, ScoringQueue, SyncOutcome, WebhookQueue } from './scoring-queue';
import { shardPriorities } from './shard-priority';

/** Webhook deliveries on BullMQ (the aggregator's WebhookQueue). */
export class BullWebhookQueue implements WebhookQueue {
  private readonly queue: Queue<WebhookJobData>;

  constructor(
    redis: Redis,
    private readonly config: RerankConfig,
  ) {
    this.queue = new Queue<WebhookJobData>(QUEUE_WEBHOOKS, { connection: redis, prefix: BULL_PREFIX });
  }

  queueWebhook(jobId: string, event: TerminalStatus): Promise<void> {
    return enqueueWebhook(this.queue, this.config, jobId, event);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export class BullScoringQueue implements ScoringQueue {
  private readonly shards: Queue<ScoringJobData>;
  private readonly sync: Queue<SyncJobData>;
  private readonly aggregate: Queue<AggregateJobData>;
  private readonly webhooks: BullWebhookQueue;
  private readonly flows: FlowProducer;
  /** Completion events of the sync queue (synchronous requests wait on them). */
  private readonly syncEvents: QueueEvents;
  /** Synchronous shards added here and not removed yet. */
  private readonly syncJobs = new Map<string, Job<SyncJobData>>();

  constructor(
    redis: Redis,
    private readonly config: RerankConfig,
  ) {
    const opts = { connection: redis, prefix: BULL_PREFIX };
    this.shards = new Queue<ScoringJobData>(QUEUE_SHARDS, opts);
    this.sync = new Queue<SyncJobData>(QUEUE_SYNC, opts);
    this.aggregate = new Queue<AggregateJobData>(QUEUE_AGGREGATE, opts);
    this.webhooks = new BullWebhookQueue(redis, config);
    this.flows = new FlowProducer(opts);
    this.syncEvents = new QueueEvents(QUEUE_SYNC, { connection: createRedis(config.redisUrl, { blocking: true, name: 'rerank-api-events' }), prefix: BULL_PREFIX });
    this.syncEvents.on('error', () => undefined);
  }

  /** Adds a job's flow; gives up after the command timeout so a request never hangs on a Redis that is gone. */
  async addJob(jobId: string, model: string, shards: readonly ShardPlan[], schedule: JobSchedule = {}): Promise<void> {
    const limitMs = this.config.redisCommandTimeoutMs + 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Command timed out: the flow was not queued within ${limitMs} ms (RERANK_REDIS_COMMAND_TIMEOUT_MS)`)), limitMs);
    });
    try {
      const queue = async () => {
        const priorities = shardPriorities(shards.length, await this.headPriority(), schedule.priority);
        await this.flows.add(buildFlow(this.config, jobId, model, shards, priorities));
      };
      await Promise.race([queue(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The BullMQ priority of the shard that runs next (the lowest waiting), or null when none waits. */
  private async headPriority(): Promise<number | null> {
    const [first] = await this.shards.getJobs(['prioritized'], 0, 0, true);
    return first?.opts.priority ?? null;
  }

  async addSyncShard(data: SyncJobData, priority?: number): Promise<string> {
    const opts = { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 600 }, ...(priority !== undefined ? { priority } : {}) };
    const job = await this.sync.add('sync', data, opts);
    const id = String(job.id);
    this.syncJobs.set(id, job);
    return id;
  }

  async waitForSync(id: string, timeoutMs: number): Promise<SyncOutcome> {
    const job = this.syncJobs.get(id);
    if (!job) throw new Error(`no synchronous shard ${id} was added by this process`);
    try {
      return { state: 'completed', value: (await job.waitUntilFinished(this.syncEvents, timeoutMs)) as SyncReturn };
    } catch (e) {
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'failed') return { state: 'failed', error: (e as Error).message };
      return { state: 'timeout', active: state === 'active' };
    }
  }

  async removeSync(id: string): Promise<void> {
    const job = this.syncJobs.get(id);
    this.syncJobs.delete(id);
    await job?.remove();
  }

  async cancelPendingShards(jobId: string): Promise<void> {
    const parent = await this.aggregate.getJob(jobId);
    await parent?.removeUnprocessedChildren();
  }

  queueWebhook(jobId: string, event: TerminalStatus): Promise<void> {
    return this.webhooks.queueWebhook(jobId, event);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.syncEvents.close(), this.flows.close(), this.shards.close(), this.sync.close(), this.aggregate.close(), this.webhooks.close()]);
  }
}
