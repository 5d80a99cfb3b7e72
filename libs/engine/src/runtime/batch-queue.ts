/**
 * The batches waiting for a device. Devices take from the front; a batch that has to be split
 * (out of memory) goes back to the front. `fail` wakes every taker with the error.
 */
export class BatchQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: ((item: T | undefined) => void)[] = [];
  private closed = false;
  private error: Error | undefined;

  push(...items: T[]): void {
    this.items.push(...items);
    this.wake();
  }

  pushFront(...items: T[]): void {
    this.items.unshift(...items);
    this.wake();
  }

  /** No more items will be pushed by the producer (requeued splits are still accepted). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: Error): void {
    this.error ??= error;
    this.items.length = 0;
    this.closed = true;
    this.wake();
  }

  get failure(): Error | undefined {
    return this.error;
  }

  get size(): number {
    return this.items.length;
  }

  /** The next item, or undefined once the queue is closed and empty (or failed). */
  take(): Promise<T | undefined> {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  private wake(): void {
    while (this.takers.length && (this.items.length || this.closed)) {
      const taker = this.takers.shift() as (item: T | undefined) => void;
      taker(this.items.shift());
    }
  }
}
