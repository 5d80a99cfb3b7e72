/**
 * Admission of batches to one device's thread. At most `slots` runs are posted to the thread at
 * once (two keep it busy while the main thread reads a reply); the rest wait here, not in the
 * thread's message queue, so a batch of a more urgent call (a synchronous request) starts as soon
 * as a slot frees instead of behind every batch other calls posted before it. Waiting runs start
 * by priority (lower first), then in arrival order, so concurrent calls of one priority (the
 * shards a worker scores at once) interleave batch by batch.
 */

/** Priority of a synchronous request's batches: ahead of job shards. */
export const PRIORITY_INTERACTIVE = 0;
/** Priority of a call that names none (a job shard, the CLI). */
export const PRIORITY_DEFAULT = 1;

interface Waiter {
  priority: number;
  seq: number;
  start: () => void;
}

export class RunGate {
  private busy = 0;
  private seq = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`RunGate: slots must be a positive integer, got ${slots}`);
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `f` once a slot is free and every more urgent (or earlier, equally urgent) run has started. */
  async run<T>(priority: number, f: () => Promise<T>): Promise<T> {
    await this.acquire(priority);
    try {
      return await f();
    } finally {
      this.release();
    }
  }

  private acquire(priority: number): Promise<void> {
    if (this.busy < this.slots && this.waiting.length === 0) {
      this.busy++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const w: Waiter = { priority, seq: this.seq++, start: resolve };
      // Sorted by (priority, seq); new arrivals go after every waiter of the same or a lower number.
      let i = this.waiting.length;
      while (i > 0 && this.waiting[i - 1].priority > priority) i--;
      this.waiting.splice(i, 0, w);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.busy--;
  }
}
