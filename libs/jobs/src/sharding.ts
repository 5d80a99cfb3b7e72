/**
 * Splits a job into shards: each shard is one query against a group of its documents, bounded by
 * pairs and by characters. Documents are sorted by length first, so a shard holds documents of
 * similar length and the engine's batches inside it pad little.
 */

export interface ShardLimits {
  maxPairs: number;
  /** Characters of query + document, summed over the shard's pairs. */
  maxChars: number;
}

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

export function planShards(input: ShardInput, limits: ShardLimits): ShardPlan[] {
  const maxPairs = Math.max(1, limits.maxPairs);
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
      const pairChars = query.text.length + input.documentLengths[set.offset + i];
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
