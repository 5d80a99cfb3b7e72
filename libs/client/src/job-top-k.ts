/**
 * The best k per query a watcher of a job holds: `partial` events replace the queries they list
 * (provisional: each can only improve as shards finish), the `completed` event's results replace
 * them all (final).
 */
import type { JobEvent, PartialQuery } from './types';

export class JobTopK {
  private readonly byQuery = new Map<number, PartialQuery>();
  private ended = false;

  /** Applies one event of `watchJob` (progress and the other final events change nothing); returns this. */
  apply(event: JobEvent): this {
    if (event.event === 'partial') {
      for (const q of event.data.results) this.byQuery.set(q.query_index, q);
    } else if (event.event === 'completed' && event.data.results) {
      this.byQuery.clear();
      for (const q of event.data.results) this.byQuery.set(q.query_index, q);
      this.ended = true;
    }
    return this;
  }

  /** True once the completed event's results are in: the top k are final. */
  get final(): boolean {
    return this.ended;
  }

  /** The queries with scores so far, by query index; each top_k best first. */
  queries(): PartialQuery[] {
    return [...this.byQuery.values()].sort((a, b) => a.query_index - b.query_index);
  }

  /** One query's best k so far (undefined: none of its pairs scored yet). */
  get(queryIndex: number): PartialQuery['top_k'] | undefined {
    return this.byQuery.get(queryIndex)?.top_k;
  }
}
