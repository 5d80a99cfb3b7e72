/**
 * Everything of BullMQ this service uses beyond its documented API, in one place (the queue
 * adapters of this folder call it; the services see only the queue ports). Pinned on a real Redis
 * with the installed BullMQ by test/queue/bull-internals.spec.ts, which fails on an upgrade that
 * changes any of it:
 * - a queue's prioritized set (`keys.prioritized`): score = priority × 2^32 + the queue's arrival
 *   counter (`keys.pc`), the job hash's `priority` field; read and rewritten by the fair-tag scripts
 *   (../store/lua/fair-waiting-2.lua, fair-retag-3.lua) the way BullMQ's own changePriority does;
 * - the order a worker takes jobs: the wait list's oldest (where a stalled worker's job goes back)
 *   before the prioritized set's lowest score;
 * - `Worker.processJob` (public in the typings, documented only as the manual-processing helper's
 *   inner step): runs a fetched job's processor and records completion or failure as the worker's
 *   own loop does.
 */
import type { Job, Queue, Worker } from 'bullmq';

/** The keys the fair-tag scripts take of a queue: its prioritized set, its arrival counter, its job hashes' prefix. */
export function prioritizedKeys(queue: Queue): { prioritized: string; counter: string; jobPrefix: string } {
  return { prioritized: queue.keys.prioritized, counter: queue.keys.pc, jobPrefix: queue.toKey('') };
}

/** The id of the job a worker of this queue takes next (one round trip), or undefined when none waits. */
export async function nextJobId(worker: Worker): Promise<string | undefined> {
  const client = await worker.client;
  const [waiting, prioritized] = await Promise.all([client.lrange(worker.keys.wait, -1, -1), client.zrange(worker.keys.prioritized, 0, 0)]);
  return waiting[0] ?? prioritized[0];
}

/** Runs a job fetched with `getNextJob(token)` and records how it ended; fetches no next job. */
export async function processFetchedJob<D, R>(worker: Worker<D, R>, job: Job<D, R>, token: string): Promise<void> {
  await worker.processJob(job, token, () => false);
}
