/**
 * `rerank jobs watch` on a terminal: a few lines redrawn in place as the job's events arrive (a
 * progress bar with shards, pairs, pairs/s and the time left; the best results so far of the first
 * queries, marked provisional until the job completes), the last drawing left as the final state.
 */
import { type JobEvent, type JobProgressEvent, JobTopK } from '@rerank/client';

/** Queries shown, and results per query. */
const SHOWN_QUERIES = 3;
const SHOWN_RESULTS = 5;
const BAR_WIDTH = 30;

const ESC = '\x1b[';

function bar(done: number, total: number): string {
  const filled = total > 0 ? Math.round((done / total) * BAR_WIDTH) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
}

function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const count = (n: number) => n.toLocaleString('en-US');

export class WatchView {
  private readonly top = new JobTopK();
  private progress: JobProgressEvent | undefined;
  private status = 'queued';
  private note = '';
  private drawn = 0;

  constructor(
    private readonly id: string,
    private readonly out: NodeJS.WriteStream,
  ) {}

  /** Takes one event and redraws. */
  update(event: JobEvent): void {
    this.top.apply(event);
    if (event.event === 'progress') {
      this.progress = event.data;
      this.status = event.data.status;
    } else if (event.event !== 'partial') {
      const { job } = event.data;
      this.status = job.status;
      this.progress = { ...job.progress, status: job.status, pairs_per_second: this.progress?.pairs_per_second ?? null, eta_seconds: 0 };
      this.note = job.error
        ? `${job.error.code}: ${job.error.message}`
        : job.timings.total_ms !== null
          ? `in ${seconds(job.timings.total_ms / 1000)}`
          : '';
    }
    this.draw();
  }

  /** A line under the view until the next event (a reconnect in progress). */
  say(note: string): void {
    this.note = note;
    this.draw();
  }

  private lines(): string[] {
    const p = this.progress;
    const head = `job ${this.id} ${this.status}${this.note ? ` (${this.note})` : ''}`;
    const lines = [head];
    if (p) {
      const rate = p.pairs_per_second === null ? '' : ` · ${count(Math.round(p.pairs_per_second))} pairs/s`;
      const eta = p.eta_seconds === null || this.top.final ? '' : ` · ETA ${seconds(p.eta_seconds)}`;
      lines.push(
        `${bar(p.pairs_done, p.pairs_total)} ${p.shards_done}/${p.shards_total} shards · ${count(p.pairs_done)}/${count(p.pairs_total)} pairs${rate}${eta}`,
      );
    }
    const queries = this.top.queries();
    const mark = this.top.final ? 'final' : 'provisional';
    for (const q of queries.slice(0, SHOWN_QUERIES)) {
      const name = q.query_id === undefined ? `query ${q.query_index}` : `query ${q.query_index} (${String(q.query_id)})`;
      const best = q.top_k
        .slice(0, SHOWN_RESULTS)
        .map((r, i) => `${i + 1}. ${r.id === undefined ? `#${r.index}` : String(r.id)} ${r.score === null ? '–' : r.score.toFixed(4)}`)
        .join('  ');
      lines.push(`${name}, ${mark}: ${best}`);
    }
    if (queries.length > SHOWN_QUERIES) lines.push(`… and ${queries.length - SHOWN_QUERIES} more queries`);
    return lines;
  }

  private draw(): void {
    // Lines cut to the terminal's width, so that none wraps and moving up by their count erases them all.
    const width = this.out.columns || 80;
    const lines = this.lines().map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    const up = this.drawn > 0 ? `${ESC}${this.drawn}F${ESC}J` : '';
    this.out.write(`${up}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
