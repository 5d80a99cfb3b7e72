import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type FlowJob, FlowProducer, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type AggregateJobData,
  BULL_PREFIX,
  createRedis,
  enqueueWebhook,
  QUEUE_AGGREGATE,
  QUEUE_SHARDS,
  QUEUE_WEBHOOKS,
  type RerankConfig,
  type ScoringJobData,
  type TerminalStatus,
  type WebhookJobData,
} from '@rerank/jobs';
import { CONFIG, REDIS } from './tokens';

/** The BullMQ side of the API: adds flows and sync jobs, cancels, queues webhooks. */
@Injectable()
export class QueueService implements OnModuleDestroy {
  readonly shards: Queue<ScoringJobData>;
  readonly aggregate: Queue<AggregateJobData>;
  readonly webhooks: Queue<WebhookJobData>;
  readonly flows: FlowProducer;
  /** Completion events of the shards queue (synchronous requests wait on them). */
  readonly shardEvents: QueueEvents;

  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    @Inject(REDIS) redis: Redis,
  ) {
    const opts = { connection: redis, prefix: BULL_PREFIX };
    this.shards = new Queue<ScoringJobData>(QUEUE_SHARDS, opts);
    this.aggregate = new Queue<AggregateJobData>(QUEUE_AGGREGATE, opts);
    this.webhooks = new Queue<WebhookJobData>(QUEUE_WEBHOOKS, opts);
    this.flows = new FlowProducer(opts);
    this.shardEvents = new QueueEvents(QUEUE_SHARDS, { connection: createRedis(config.redisUrl, { blocking: true, name: 'rerank-api-events' }), prefix: BULL_PREFIX });
    this.shardEvents.on('error', () => undefined);
  }

  /** Adds a job's flow; gives up after the command timeout so a request never hangs on a Redis that is gone. */
  async addFlow(flow: FlowJob): Promise<void> {
    const limitMs = this.config.redisCommandTimeoutMs + 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Command timed out: the flow was not queued within ${limitMs} ms (RERANK_REDIS_COMMAND_TIMEOUT_MS)`)), limitMs);
    });
    try {
      await Promise.race([this.flows.add(flow), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes the shards of a job that no worker has taken (cancel). */
  async dropUnstartedShards(jobId: string): Promise<void> {
    const parent = await this.aggregate.getJob(jobId);
    await parent?.removeUnprocessedChildren();
  }

  async queueWebhook(jobId: string, event: TerminalStatus): Promise<void> {
    await enqueueWebhook(this.webhooks, this.config, jobId, event);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([this.shardEvents.close(), this.flows.close(), this.shards.close(), this.aggregate.close(), this.webhooks.close()]);
  }
}
