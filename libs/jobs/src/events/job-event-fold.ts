/**
 * A job's event log folded into what its watchers are shown (pure): progress, and each query's
 * best k so far, merged shard by shard (`mergeTopK`), so once every shard is in it equals the
 * aggregator's top-k. Each entry applied is a step (1, 2, ...; 0 before any); a watcher is at the
 * step it was last sent, and is sent only what changed after it: the progress when shards were
 * added, the queries whose top-k changed. A resumed watcher's step is found from its Last-Event-ID.
 */
import { mergeTopK, type Ranked } from '../merge';
import type { TerminalStatus } from '../queues';
import { compareLogEntryIds, type JobLogEntry, type LogEntryId } from '../ports/job-event-log';

export interface FoldProgress {
  shardsDone: number;
  pairsDone: number;
  /** Pairs per second over the shards after the first one (null until two shards are in, or no time passed). */
  pairsPerSecond: number | null;
}

export class JobEventFold {
  private readonly tops: Ranked[][];
  /** The step at which each query's top-k last changed (0: never). */
  private readonly changedAt: number[];
  private readonly shards = new Map<number, number>();
  private pairs = 0;
  /** Entry ids and shards done after each step (index = step - 1). */
  private readonly ids: LogEntryId[] = [];
  private readonly shardsAt: number[] = [];
  private first: { at: number; pairs: number } | null = null;
  private lastAt = 0;
  private endStatus: TerminalStatus | null = null;

  constructor(
    queries: number,
    private readonly k: number,
  ) {
    this.tops = Array.from({ length: queries }, () => []);
    this.changedAt = new Array<number>(queries).fill(0);
  }

  /** Steps applied. */
  get step(): number {
    return this.ids.length;
  }

  /** The id of the last entry applied (null before any). */
  get lastId(): LogEntryId | null {
    return this.ids.length > 0 ? this.ids[this.ids.length - 1] : null;
  }

  /** The terminal status once the end entry is in. */
  get ended(): TerminalStatus | null {
    return this.endStatus;
  }

  apply(entry: JobLogEntry): void {
    if (this.endStatus !== null) return;
    this.ids.push(entry.id);
    const step = this.ids.length;
    if (entry.kind === 'end') this.endStatus = entry.status;
    else {
      const { n, q, pairs, top } = entry.shard;
      // A shard scored again (its worker died after writing) counts once; its documents are already in.
      if (!this.shards.has(n)) {
        this.shards.set(n, pairs);
        this.pairs += pairs;
        if (this.first === null) this.first = { at: entry.at, pairs: this.pairs };
        this.lastAt = entry.at;
      }
      const before = this.tops[q];
      if (before) {
        const after = mergeTopK(before, top, this.k);
        if (!sameRanking(before, after)) {
          this.tops[q] = after;
          this.changedAt[q] = step;
        }
      }
    }
    this.shardsAt.push(this.shards.size);
  }

  progress(): FoldProgress {
    const elapsed = this.first ? (this.lastAt - this.first.at) / 1000 : 0;
    return {
      shardsDone: this.shards.size,
      pairsDone: this.pairs,
      pairsPerSecond: this.first && elapsed > 0 ? (this.pairs - this.first.pairs) / elapsed : null,
    };
  }

  /** Whether shards were added after `step`. */
  progressedSince(step: number): boolean {
    return this.shards.size !== (step > 0 ? this.shardsAt[step - 1] : 0);
  }

  /** Queries whose top-k changed after `step`, in query order. */
  changedSince(step: number): number[] {
    const out: number[] = [];
    this.changedAt.forEach((at, q) => {
      if (at > step) out.push(q);
    });
    return out;
  }

  /** A query's best k so far (best first). */
  top(q: number): readonly Ranked[] {
    return this.tops[q];
  }

  /**
   * The step a watcher that last saw entry `id` is at: the number of entries up to it (its own
   * included). An id past the last entry applied counts as the last step: what comes later is new to it.
   */
  stepOf(id: LogEntryId): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareLogEntryIds(this.ids[mid], id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function sameRanking(a: readonly Ranked[], b: readonly Ranked[]): boolean {
  return a.length === b.length && a.every((r, i) => r.index === b[i].index);
}
