/**
 * A worker's busy time (any task in hand), read by several readers each over its own window: the
 * busy ratio at each metrics scrape, the throughput at each heartbeat.
 */
export class BusyTime {
  private active = 0;
  private since = 0;
  private total = 0;

  start(now = Date.now()): void {
    if (this.active++ === 0) this.since = now;
  }

  end(now = Date.now()): void {
    if (--this.active === 0) this.total += now - this.since;
  }

  /** Busy milliseconds since the worker started, up to `now`. */
  ms(now = Date.now()): number {
    return this.total + (this.active > 0 ? now - this.since : 0);
  }
}

/** Busy time at least this long makes a throughput sample (shorter windows say little). */
const MIN_SAMPLE_MS = 500;

/**
 * Characters scored per second of busy time, smoothed over samples: the rate the queue sizes the
 * one fairness credit with (ARCHITECTURE.md, "The fairness model"). 0 until a first sample.
 */
export class Throughput {
  private chars = 0;
  private lastChars = 0;
  private lastBusyMs = 0;
  charsPerSecond = 0;

  constructor(private readonly busy: BusyTime) {}

  /** `chars` more characters scored (queries and documents of the pairs). */
  add(chars: number): void {
    this.chars += chars;
  }

  /** Takes a sample of the window since the last one, when the worker was busy long enough. */
  sample(now = Date.now()): number {
    const busyMs = this.busy.ms(now) - this.lastBusyMs;
    if (busyMs >= MIN_SAMPLE_MS) {
      const rate = ((this.chars - this.lastChars) / busyMs) * 1000;
      this.charsPerSecond = this.charsPerSecond === 0 ? rate : 0.7 * this.charsPerSecond + 0.3 * rate;
      this.lastChars = this.chars;
      this.lastBusyMs += busyMs;
    }
    return this.charsPerSecond;
  }
}
