/**
 * Fair shares of the device among asynchronous jobs, on BullMQ priorities (lower runs first, equal
 * priorities in arrival order). A job's shards are spread over rounds: shard n gets
 * `start + n × stride`. `start` is the priority of the first shard waiting when the job is queued
 * (SHARD_PRIORITY on an empty queue), so a new job's shards interleave with the queued rounds of
 * the jobs before it (job A's shard k beside job B's shard 0, then A's k+1 beside B's 1, ...)
 * instead of waiting behind all of them, and never jump ahead of shards that waited longer: a
 * big job keeps one shard per round however many jobs arrive after it (start-time fair queuing).
 * `stride` weighs a job by its `priority` (Cohere's scale, 0 the most urgent): 0 → a shard every
 * round, p → one every 1 + p rounds.
 */
import { SHARD_PRIORITY } from '../queues';

/** BullMQ's largest priority. */
export const MAX_BULL_PRIORITY = 2 ** 21;
/** Job priorities above this weigh as this. */
export const MAX_JOB_PRIORITY = 9;

/** Rounds between two shards of a job of this priority. */
export function shardStride(priority = 0): number {
  return 1 + Math.min(MAX_JOB_PRIORITY, Math.max(0, Math.floor(priority)));
}

/** BullMQ priority of each of a job's `count` shards, queued when the first waiting shard has priority `head` (null: none waiting). */
export function shardPriorities(count: number, head: number | null, priority = 0): number[] {
  const start = Math.max(SHARD_PRIORITY, head ?? SHARD_PRIORITY);
  const stride = shardStride(priority);
  return Array.from({ length: count }, (_, n) => Math.min(MAX_BULL_PRIORITY, start + n * stride));
}
