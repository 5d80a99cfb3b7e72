/**
 * Splits a job into shards: each shard is one query against a group of its documents, bounded by
 * pairs and by characters. Documents are sorted by length first, so a shard holds documents of
 * similar length and the engine's batches inside it pad little. A job is cut into at least
 * `minShards` shards of similar cost (characters) where its pairs allow, so that several workers share
 * even a small job evenly: with a handful of shards the slowest worker's share sets the wall time.
 */

import { flatIndex } from './job-layout';

/** The smallest shard `minShards` cuts down to: below it, per-shard overhead outweighs the balance. */
export const MIN_SHARD_PAIRS = 32;

export interface ShardLimits {
  maxPairs: number;
  /** Characters of query + document, summed over the shard's pairs. */
  maxChars: number;
  /** Cut a job into at least this many shards, down to MIN_SHARD_PAIRS pairs each. */
  minShards: number;
}

/** A planned shard; `q` and `idx` go onto the wire as ShardJobData's fields of the same names. */
export interface ShardPlan {
  /** Query index. */
  q: number;
  /** Document indices within the query's document set, shortest documents first. */
  idx: number[];
  /** Characters of query + documents over the shard's pairs. */
  chars: number;
}

export interface ShardInput {
  queries: { text: string; set: number }[];
  sets: { offset: number; count: number }[];
  /** Flattened document texts (or only their lengths). */
  documentLengths: ArrayLike<number>;
}

/** Indices 0..count-1 of a set, by document length (ties by index). */
export function orderByLength(lengths: ArrayLike<number>, offset: number, count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => lengths[offset + a] - lengths[offset + b] || a - b);
  return order;
}

/** The job's own bounds: the configured ones, tightened so the job makes about `minShards` shards. */
export function jobShardLimits(input: ShardInput, limits: ShardLimits): { maxPairs: number; maxChars: number } {
  const setChars = input.sets.map((set) => {
    let n = 0;
    for (let i = 0; i < set.count; i++) n += input.documentLengths[set.offset + i];
    return n;
  });
  let pairs = 0;
  let chars = 0;
  for (const query of input.queries) {
    const set = input.sets[query.set];
    pairs += set.count;
    chars += query.text.length * set.count + setChars[query.set];
  }
  const minShards = Math.max(1, limits.minShards);
  const floorPairs = Math.min(pairs, MIN_SHARD_PAIRS);
  const maxPairs = Math.min(limits.maxPairs, Math.max(floorPairs, Math.ceil(pairs / minShards)));
  // Characters stand for cost: shards of long documents hold fewer pairs.
  const floorChars = pairs > 0 ? Math.ceil((chars / pairs) * floorPairs) : 0;
  const maxChars = Math.min(limits.maxChars, Math.max(floorChars, Math.ceil(chars / minShards)));
  return { maxPairs: Math.max(1, maxPairs), maxChars: Math.max(1, maxChars) };
}

export function planShards(input: ShardInput, configured: ShardLimits): ShardPlan[] {
  const limits = jobShardLimits(input, configured);
  const maxPairs = limits.maxPairs;
  const orders = new Map<number, number[]>();
  const shards: ShardPlan[] = [];
  input.queries.forEach((query, q) => {
    const set = input.sets[query.set];
    let order = orders.get(query.set);
    if (!order) {
      order = orderByLength(input.documentLengths, set.offset, set.count);
      orders.set(query.set, order);
    }
    let idx: number[] = [];
    let chars = 0;
    for (const i of order) {
      const pairChars = query.text.length + input.documentLengths[flatIndex(input, q, i)];
      // A pair alone may exceed maxChars: it still gets a shard of its own.
      if (idx.length > 0 && (idx.length >= maxPairs || chars + pairChars > limits.maxChars)) {
        shards.push({ q, idx, chars });
        idx = [];
        chars = 0;
      }
      idx.push(i);
      chars += pairChars;
    }
    if (idx.length > 0) shards.push({ q, idx, chars });
  });
  return shards;
}
