/**
 * The producer side of the scoring queues on BullMQ (the API's ScoringQueue): a job is a flow
 * (bull-flow.ts) whose shards get fair priorities (shard-priority.ts, fair-queue.ts), a synchronous request one
 * part waited on through the sync queue's events.
 */
import { FlowProducer, type Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RerankConfig } from '../config';
import {
  type AggregateJobData,
  modelQueues,
  QUEUE_AGGREGATE,
  QUEUE_WEBHOOKS,
  type ScoringJobData,
  type SyncJobData,
  type SyncReturn,
  type TerminalStatus,
  type WebhookJobData,
} from '../queues';
import { BULL_PREFIX } from '../store/keys';
import { createRedis } from '../redis';
import type { ShardPlan } from '../sharding';
import { decodeFailure } from './bull-consumers';
import { buildFlow, enqueueWebhook } from './bull-flow';
import type { ScoringQueue, SyncOutcome, WebhookQueue } from '../ports/scoring-queue';
import type { Schedule } from '../schedule';
import { FairShardTags } from './fair-queue';

/**
 * The sync queue's order from a request's weight: weight 1 (Cohere's priority 0) no BullMQ priority,
 * ahead of every other; weight 1 / (1 + p) BullMQ priority p (1..9), lower first.
 */
export function syncBullPriority(weight: number): number | undefined {
  const p = Math.round(1 / weight) - 1;
  return p <= 0 ? undefined : p;
}

/** Webhook deliveries on BullMQ (the aggregator's WebhookQueue). */
export class BullWebhookQueue implements WebhookQueue {
  private readonly queue: Queue<WebhookJobData>;

  constructor(
    redis: Redis,
    private readonly config: Pick<RerankConfig, 'webhook' | 'jobs'>,
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

/** One model's queues (placement: each model has its own, see modelQueues). */
interface ModelQueues {
  shards: Queue<ScoringJobData>;
  sync: Queue<SyncJobData>;
  /** Completion events of the model's sync queue (synchronous requests wait on them); opened on first use. */
  syncEvents: Promise<QueueEvents> | null;
}

export interface BullScoringQueueOptions {
  /**
   * The one fairness credit in characters for a model's queue: what its devices score in the engine's
   * TENANT_CREDIT_MS, at the throughput its workers report (ModelsService.creditChars); none: no credit.
   */
  creditChars?: (model: string) => number;
}

export class BullScoringQueue implements ScoringQueue {
  private readonly perModel = new Map<string, ModelQueues>();
  private readonly aggregate: Queue<AggregateJobData>;
  private readonly webhooks: BullWebhookQueue;
  private readonly flows: FlowProducer;
  private readonly fair: FairShardTags;
  /** Synchronous shards added here and not removed yet, with their model. */
  private readonly syncJobs = new Map<string, { job: Job<SyncJobData>; model: string }>();

  constructor(
    private readonly redis: Redis,
    private readonly config: RerankConfig,
    private readonly options: BullScoringQueueOptions = {},
  ) {
    const opts = { connection: redis, prefix: BULL_PREFIX };
    this.aggregate = new Queue<AggregateJobData>(QUEUE_AGGREGATE, opts);
    this.webhooks = new BullWebhookQueue(redis, config);
    this.flows = new FlowProducer(opts);
    this.fair = new FairShardTags(redis, config.redis.commandTimeoutMs);
  }

  /** A model's queues (created on first use; the model was validated against RERANK_MODELS before). */
  private queues(model: string): ModelQueues {
    let q = this.perModel.get(model);
    if (!q) {
      const names = modelQueues(model);
      const opts = { connection: this.redis, prefix: BULL_PREFIX };
      q = { shards: new Queue<ScoringJobData>(names.shards, opts), sync: new Queue<SyncJobData>(names.sync, opts), syncEvents: null };
      this.perModel.set(model, q);
    }
    return q;
  }

  /** The model's sync completion events: one blocking connection per model, opened when a request first waits. */
  private async syncEvents(model: string): Promise<QueueEvents> {
    const q = this.queues(model);
    if (!q.syncEvents) {
      const events = new QueueEvents(modelQueues(model).sync, {
        connection: createRedis(this.config.redis.url, { blocking: true, name: 'rerank-api-events' }),
        prefix: BULL_PREFIX,
      });
      events.on('error', () => undefined);
      q.syncEvents = events.waitUntilReady().then(() => events);
      // A failed start is retried by the next request.
      q.syncEvents.catch(() => {
        q.syncEvents = null;
        void events.close().catch(() => undefined);
      });
    }
    return q.syncEvents;
  }

  /** Adds a job's flow; gives up after the command timeout so a request never hangs on a Redis that is gone. */
  async addJob(jobId: string, model: string, shards: readonly ShardPlan[], schedule: Schedule): Promise<void> {
    const limitMs = this.config.redis.commandTimeoutMs + 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Command timed out: the flow was not queued within ${limitMs} ms (RERANK_REDIS_COMMAND_TIMEOUT_MS)`)),
        limitMs,
      );
    });
    try {
      const queue = () =>
        this.fair.addJob(
          this.queues(model).shards,
          { jobId, schedule, shards },
          this.options.creditChars?.(model) ?? 0,
          async (priorities) => {
            await this.flows.add(buildFlow(this.config, jobId, model, shards, schedule, priorities));
          },
        );
      await Promise.race([queue(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async hasJob(jobId: string): Promise<boolean> {
    return (await this.aggregate.getJob(jobId)) !== undefined;
  }

  async addSyncShard(data: SyncJobData): Promise<string> {
    const priority = data.schedule ? syncBullPriority(data.schedule.weight) : undefined;
    const opts = {
      attempts: 1,
      removeOnComplete: { age: 60 },
      removeOnFail: { age: 600 },
      ...(priority !== undefined ? { priority } : {}),
    };
    // Listening before the add: a fast worker's completion event is not missed.
    await this.syncEvents(data.model);
    const job = await this.queues(data.model).sync.add('sync', data, opts);
    // BullMQ ids count per queue: the queue name keeps ids of different models apart.
    const id = `${modelQueues(data.model).sync}/${job.id}`;
    this.syncJobs.set(id, { job, model: data.model });
    return id;
  }

  async waitForSync(id: string, timeoutMs: number): Promise<SyncOutcome> {
    const entry = this.syncJobs.get(id);
    if (!entry) throw new Error(`no synchronous shard ${id} was added by this process`);
    const { job } = entry;
    try {
      return { state: 'completed', value: (await job.waitUntilFinished(await this.syncEvents(entry.model), timeoutMs)) as SyncReturn };
    } catch (e) {
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'failed') return { state: 'failed', error: decodeFailure((e as Error).message).message };
      return { state: 'timeout', active: state === 'active' };
    }
  }

  async removeSync(id: string): Promise<void> {
    const entry = this.syncJobs.get(id);
    if (!entry) return;
    // Throws while a worker holds the part (BullMQ's lock): it stays known here, to be removed once it ended.
    await entry.job.remove();
    this.syncJobs.delete(id);
  }

  async cancelPendingShards(jobId: string): Promise<void> {
    const parent = await this.aggregate.getJob(jobId);
    await parent?.removeUnprocessedChildren();
  }

  queueWebhook(jobId: string, event: TerminalStatus): Promise<void> {
    return this.webhooks.queueWebhook(jobId, event);
  }

  async close(): Promise<void> {
    const perModel = [...this.perModel.values()].flatMap((q) => [
      q.shards.close(),
      q.sync.close(),
      ...(q.syncEvents ? [q.syncEvents.then((e) => e.close())] : []),
    ]);
    await Promise.allSettled([...perModel, this.flows.close(), this.aggregate.close(), this.webhooks.close()]);
  }
}
