/**
 * A worker's tenant slots (RERANK_WORKER_TENANT_SLOTS, issue 13): shard slots beyond the fixed
 * ones (RERANK_WORKER_CONCURRENCY), for tenants that hold fewer shards on the worker than it has
 * fixed slots, typically a tenant whose job arrived while another tenant's big job fills them.
 *
 * Without them, that tenant's new job waits until one of the shards in flight ends, whole seconds
 * on a CPU, even though the fair tags (shard-priority.ts) put its first shard at the head of the
 * queue. So while every fixed slot is busy, the slots look at the shard BullMQ would hand out next
 * every TENANT_SLOT_POLL_MS, and again as soon as one of them frees; when `admit` lets that shard's
 * tenant in, a slot takes the next shard (BullMQ's manual fetch: getNextJob, then processJob,
 * which records the result or the failure as the fixed slots do; the lock is extended here; what
 * this needs of BullMQ's internals is in bull-internals.ts). The
 * device scheduler then shares the device between the tenants. Another worker may take that shard
 * first; a slot then holds whatever came next: a worker never reserves more than its fixed slots
 * and these.
 */
import { Job, type Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { QueueConsumer } from '../ports/scoring-queue';
import type { ShardJobData } from '../queues';
import { nextJobId, processFetchedJob } from './bull-internals';

/** How often a worker with every fixed slot busy looks at its queue's next shard (besides when a tenant slot frees). */
export const TENANT_SLOT_POLL_MS = 200;

export interface TenantSlotOptions {
  /** Whether every fixed slot of the worker is busy (otherwise BullMQ's own fetch takes the head). */
  full: () => boolean;
  /** Whether a tenant slot may take the queue's next shard, given the shard as queued (its schedule names its tenant). */
  admit: (shard: ShardJobData) => boolean;
  /** The lock duration the queue's workers use (RERANK_LOCK_DURATION_MS). */
  lockDurationMs: number;
  onError: (e: Error) => void;
}

/**
 * Runs `size` tenant slots on `worker`, a BullMQ Worker made with `autorun: false` on the queue of
 * the fixed slots.
 */
export function tenantSlots<R>(worker: Worker<ShardJobData, R>, size: number, options: TenantSlotOptions): QueueConsumer {
  const held = new Set<Promise<void>>();
  let pumping: Promise<void> | null = null;
  let closing = false;
  /** The last head read: it stays the head while it is refused, so polls need not read it again. */
  let lastHead: { id: string; data: ShardJobData } | undefined;

  /** The next shard as queued (BullMQ's public Job.fromId), or undefined when none waits or it went meanwhile. */
  const nextShard = async (): Promise<ShardJobData | undefined> => {
    const id = await nextJobId(worker as Worker);
    if (id === undefined) return undefined;
    if (lastHead?.id !== id) {
      const job = await Job.fromId<ShardJobData, R>(worker, id);
      if (!job) return undefined;
      lastHead = { id, data: job.data };
    }
    return lastHead.data;
  };

  /** That shard, moved to active for this slot, if `admit` lets it in. */
  const fetchAdmitted = async (): Promise<{ job: Job<ShardJobData, R>; token: string } | undefined> => {
    const head = await nextShard();
    if (head === undefined || closing || !options.admit(head)) return undefined;
    const token = `${worker.id}:slot:${randomUUID()}`;
    const job = await worker.getNextJob(token, { block: false });
    return job && { job, token };
  };

  const work = async (job: Job<ShardJobData, R>, token: string): Promise<void> => {
    const renew = setInterval(
      () => void job.extendLock(token, options.lockDurationMs).catch(options.onError),
      Math.max(100, options.lockDurationMs / 2),
    );
    try {
      // Completion or failure is recorded as for a fixed slot; no next job is fetched with it.
      await processFetchedJob(worker, job, token);
    } finally {
      clearInterval(renew);
    }
  };

  /** Fills free slots while the fixed ones are busy and the head is admitted. */
  const fill = async (): Promise<void> => {
    while (!closing && held.size < size && options.full()) {
      const taken = await fetchAdmitted();
      if (!taken) return;
      const run: Promise<void> = work(taken.job, taken.token)
        .catch(options.onError)
        .finally(() => {
          held.delete(run);
          pump();
        });
      held.add(run);
    }
  };
  /** One fill at a time: on each poll, and as soon as a slot frees. */
  const pump = (): void => {
    if (pumping || closing) return;
    pumping = fill()
      .catch(options.onError)
      .finally(() => {
        pumping = null;
      });
  };

  const timer = setInterval(pump, TENANT_SLOT_POLL_MS);
  timer.unref();

  return {
    name: `${worker.name} (tenant slots)`,
    isRunning: () => !closing,
    waitUntilReady: async () => void (await worker.waitUntilReady()),
    close: async () => {
      closing = true;
      clearInterval(timer);
      await pumping;
      await Promise.all(held);
      await worker.close();
    },
  };
}
