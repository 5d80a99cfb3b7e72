/** Bounds on one batch. */
export interface BatchLimits {
  /** Rows per batch (the reference's batch_size). */
  batchSize: number;
  /** Padded tokens per batch: rows x padded length. */
  maxBatchTokens: number;
  /** Pad the sequence length to a multiple of this (8 for the LLM families, as the reference). */
  padMultiple: number;
}

export function paddedLength(length: number, multiple: number): number {
  return Math.ceil(length / multiple) * multiple;
}

/**
 * Sorts items longest first (as the reference) and cuts batches that stay under both the row
 * and the padded-token bound; a single item over the token bound still gets a batch of its own.
 * Returns batches of item indices.
 */
export function planBatches(lengths: ArrayLike<number>, limits: BatchLimits): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let width = 0;
  for (const i of order) {
    if (current.length === 0) {
      width = paddedLength(lengths[i], limits.padMultiple);
      current.push(i);
    } else if (current.length < limits.batchSize && (current.length + 1) * width <= limits.maxBatchTokens) {
      current.push(i);
    } else {
      batches.push(current);
      current = [i];
      width = paddedLength(lengths[i], limits.padMultiple);
    }
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * The ranges of pairs tokenized and planned together: a small first chunk so devices start early,
 * then chunks large enough that sorting within a chunk pads as little as sorting everything.
 */
export const FIRST_CHUNK = 256;
export const CHUNK = 4096;
export function* chunkRanges(count: number): Generator<[start: number, end: number]> {
  let start = 0;
  let size = FIRST_CHUNK;
  while (start < count) {
    const end = Math.min(count, start + size);
    yield [start, end];
    start = end;
    size = CHUNK;
  }
}

/** Real tokens over tokens computed, for a plan. */
export function paddingEfficiency(lengths: ArrayLike<number>, batches: number[][], padMultiple: number): number {
  let real = 0;
  let computed = 0;
  for (const batch of batches) {
    let width = 0;
    for (const i of batch) {
      real += lengths[i];
      width = Math.max(width, lengths[i]);
    }
    computed += batch.length * paddedLength(width, padMultiple);
  }
  return computed === 0 ? 1 : real / computed;
}
