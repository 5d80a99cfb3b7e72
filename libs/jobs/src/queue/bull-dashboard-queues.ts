/** The BullMQ queues the API's read-only dashboard shows (apps/api/src/queue-dashboard.ts), on the service's prefix. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { modelQueues, QUEUE_AGGREGATE, QUEUE_WEBHOOKS } from '../queues';
import { BULL_PREFIX } from '../store/keys';

export interface DashboardQueue {
  queue: Queue;
  description: string;
}

/** Each model's shard and sync queues (placement), then the shared ones. */
export function dashboardQueues(redis: Redis, models: readonly string[]): DashboardQueue[] {
  const open = (name: string, description: string): DashboardQueue => ({
    queue: new Queue(name, { connection: redis, prefix: BULL_PREFIX }),
    description,
  });
  return [
    ...models.flatMap((m) => [
      open(modelQueues(m).shards, `Shards of ${m}'s jobs, taken by the workers that serve ${m}`),
      open(modelQueues(m).sync, `Parts of synchronous requests for ${m}, taken by the workers that serve ${m}`),
    ]),
    open(QUEUE_AGGREGATE, 'One per job: merges its shards once all are scored (aggregator)'),
    open(QUEUE_WEBHOOKS, 'Webhook deliveries with their retries (aggregator)'),
  ];
}
