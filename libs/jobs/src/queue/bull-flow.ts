/**
 * How a job becomes a BullMQ flow: an aggregation parent (queue `aggregate`) whose children are
 * the shards (the model's queue `shards.<model>`, modelQueues). FlowProducer adds parent and children in one MULTI, so a job is
 * queued whole or not at all. Children carry index lists, not texts (those are in the job store).
 */
import type { FlowJob, JobsOptions, Queue } from 'bullmq';
import type { RerankConfig } from '../config';
import {
  type AggregateJobData,
  QUEUE_AGGREGATE,
  modelQueues,
  SHARD_PRIORITY,
  type ShardJobData,
  shardJobId,
  type TerminalStatus,
  type WebhookJobData,
  webhookJobId,
} from '../queues';
import { BULL_PREFIX } from '../store/keys';
import type { Schedule } from '../schedule';
import type { ShardPlan } from '../sharding';

/** `priority`: the shard's BullMQ priority (shard-priority.ts; SHARD_PRIORITY when not given). */
export function shardJobOptions(
  config: Pick<RerankConfig, 'queue' | 'jobs'>,
  jobId: string,
  n: number,
  priority = SHARD_PRIORITY,
): JobsOptions {
  return {
    jobId: shardJobId(jobId, n),
    priority,
    attempts: config.queue.shardAttempts,
    backoff: { type: 'exponential', delay: 1000 },
    // A shard that fails for good lets the parent run at once; the aggregator then fails the job
    // with the shard's error (BullMQ's failParentOnFailure would fail the parent without running it).
    continueParentOnFailure: true,
    // The return value lives on in the parent's processed set; the child itself is not needed.
    removeOnComplete: true,
    removeOnFail: { age: config.jobs.resultTtlSeconds },
  };
}

/** Each shard carries the job's `schedule`; `priorities[n]`: shard n's BullMQ priority (fair-queue.ts); all SHARD_PRIORITY when not given. */
export function buildFlow(
  config: Pick<RerankConfig, 'queue' | 'jobs'>,
  jobId: string,
  model: string,
  shards: readonly ShardPlan[],
  schedule: Schedule,
  priorities?: readonly number[],
): FlowJob {
  const data: AggregateJobData = { jobId };
  return {
    name: 'aggregate',
    queueName: QUEUE_AGGREGATE,
    prefix: BULL_PREFIX,
    data,
    opts: {
      jobId,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: { age: config.jobs.resultTtlSeconds },
    },
    children: shards.map((s, n) => {
      // Placement: only workers serving this model consume its shard queue.
      const child: ShardJobData = { kind: 'shard', jobId, n, model, q: s.q, idx: s.idx, schedule };
      return {
        name: 'shard',
        queueName: modelQueues(model).shards,
        prefix: BULL_PREFIX,
        data: child,
        opts: shardJobOptions(config, jobId, n, priorities?.[n]),
      };
    }),
  };
}

/** Worker options from the configuration (lock, stalled recovery). */
export function workerQueueOptions(config: Pick<RerankConfig, 'queue'>) {
  return {
    prefix: BULL_PREFIX,
    lockDuration: config.queue.lockDurationMs,
    stalledInterval: config.queue.stalledIntervalMs,
    maxStalledCount: config.queue.maxStalledCount,
  };
}

/** Queues the webhook of a job's terminal event; the BullMQ job id makes a second call a no-op. */
export async function enqueueWebhook(
  queue: Queue<WebhookJobData>,
  config: Pick<RerankConfig, 'webhook' | 'jobs'>,
  jobId: string,
  event: TerminalStatus,
): Promise<void> {
  await queue.add(
    'deliver',
    { jobId, event },
    {
      jobId: webhookJobId(jobId, event),
      attempts: config.webhook.attempts,
      backoff: { type: 'exponential', delay: config.webhook.backoffMs },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: config.jobs.resultTtlSeconds },
    },
  );
}
