/**
 * Cancels of work in flight, from the API to the workers: a cancelled job, or a synchronous request
 * whose client went away or timed out. The Redis adapter is store/redis-cancel-signals.ts (pub/sub).
 * Delivery is best effort and prompt: a worker not subscribed at that instant misses it, and then
 * its shard runs on (the job's status still keeps shards not started from running).
 */

/** What is cancelled: a job's shards (by job id), or a synchronous request's parts (by the token its parts carry). */
export interface CancelTarget {
  kind: 'job' | 'sync';
  id: string;
}

export interface CancelSignals {
  publish(target: CancelTarget): Promise<void>;
  /** Calls `handler` for each cancel published from now on; resolves once listening. */
  subscribe(handler: (target: CancelTarget) => void): Promise<void>;
  close(): Promise<void>;
}
