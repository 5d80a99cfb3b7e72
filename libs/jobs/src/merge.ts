/**
 * Shard scores back into per-query score lists, and top-k by score (ties to the lower index).
 */

/** One score per pair, or one per layer (several cutoff layers): the last layer ranks. */
export type PairScore = number | number[];

/**
 * What a worker returns for a shard (the BullMQ return value, stored in Redis and read by the
 * aggregator). The short names are the wire format shared with ShardJobData (`q`, `idx` as sent,
 * `s` the scores); renaming one is a protocol change between processes of different versions.
 */
export interface ShardResult {
  /** Query index (ShardJobData.q). */
  q: number;
  /** Document indices within the query's set (ShardJobData.idx, same order). */
  idx: number[];
  /** Scores, aligned with `idx`: one number per pair, or one per layer. */
  s: PairScore[];
  /**
   * When the job returns documents: the texts of the shard's own top-k as [index within the set,
   * text]. The job's top-k per query is among its shards' top-k (same order, ties to the lower
   * index), so the aggregator needs no second read of the texts.
   */
  texts?: [number, string][];
}

export interface Ranked {
  index: number;
  score: PairScore;
}

export class MergeError extends Error {
  override readonly name = 'MergeError';
}

/**
 * Scores per query, in document order. Throws when a pair has no score or two: each pair is
 * scored exactly once by construction (shards partition the pairs), so either means a bug.
 */
export function mergeShardResults(results: Iterable<ShardResult>, setSizes: readonly number[]): PairScore[][] {
  const scores: (PairScore | undefined)[][] = setSizes.map((n) => new Array<PairScore | undefined>(n));
  for (const r of results) {
    const list = scores[r.q];
    if (!list) throw new MergeError(`shard result for query ${r.q}, but the job has ${setSizes.length} queries`);
    if (r.idx.length !== r.s.length)
      throw new MergeError(`shard result for query ${r.q} has ${r.idx.length} documents and ${r.s.length} scores`);
    for (let i = 0; i < r.idx.length; i++) {
      const d = r.idx[i];
      if (d < 0 || d >= list.length) throw new MergeError(`shard result for query ${r.q} names document ${d} of ${list.length}`);
      if (list[d] !== undefined) throw new MergeError(`query ${r.q}, document ${d} was scored twice`);
      list[d] = r.s[i];
    }
  }
  scores.forEach((list, q) => {
    for (let d = 0; d < list.length; d++) if (list[d] === undefined) throw new MergeError(`query ${q}, document ${d} has no score`);
  });
  return scores as PairScore[][];
}

export function rankingScore(s: PairScore): number {
  const v = Array.isArray(s) ? s[s.length - 1] : s;
  return Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
}

/** The ranking order: higher score first, equal scores by the lower index. */
export function byRank(a: Ranked, b: Ranked): number {
  return rankingScore(b.score) - rankingScore(a.score) || a.index - b.index;
}

/**
 * The k best of a query's top-k so far and another shard's top-k of the same query (a shard run
 * twice brings the same documents again: kept once), in `byRank` order: folding every shard's
 * top-k this way ends at topK over all the query's scores.
 */
export function mergeTopK(current: readonly Ranked[], shard: readonly Ranked[], k: number): Ranked[] {
  const seen = new Set(current.map((r) => r.index));
  return [...current, ...shard.filter((r) => !seen.has(r.index))].sort(byRank).slice(0, Math.max(0, k));
}

/** The k best, best first; equal scores keep the lower index first. */
export function topK(scores: readonly PairScore[], k: number): Ranked[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  const key = scores.map(rankingScore);
  order.sort((a, b) => key[b] - key[a] || a - b);
  return order.slice(0, Math.max(0, k)).map((index) => ({ index, score: scores[index] }));
}

/**
 * Positions (in `idx` order) of a shard's k best pairs, by the same order as topK over the whole
 * query (score, then the lower document index): the query's top-k is among its shards' top-k.
 */
export function shardTopK(idx: readonly number[], scores: readonly PairScore[], k: number): number[] {
  const order = Array.from({ length: idx.length }, (_, i) => i);
  const key = scores.map(rankingScore);
  order.sort((a, b) => key[b] - key[a] || idx[a] - idx[b]);
  return order.slice(0, Math.max(0, k));
}
