import { chunkRanges, planBatches } from '@rerank/engine';

/**
 * Batch plans over pre-tokenized pairs: lists of pair indices per batch. All are length-sorted,
 * longest first, as the engine and FlagEmbedding do.
 */
export interface Plan {
  name: string;
  batches: number[][];
  /** Pad each batch's width to a multiple of this. */
  padMultiple: number;
}

/** Count-based: `rows` pairs per batch after a global length sort (FlagEmbedding's plan with rows = 128). */
export function fixedRowsPlan(name: string, lengths: ArrayLike<number>, rows: number, padMultiple = 1): Plan {
  return { name, padMultiple, batches: planBatches(lengths, { batchSize: rows, maxBatchTokens: Number.MAX_SAFE_INTEGER, padMultiple }) };
}

/** Token budget: rows x padded width under `tokens`, at most `rows` rows. */
export function tokenBudgetPlan(name: string, lengths: ArrayLike<number>, tokens: number, rows = 128, padMultiple = 1): Plan {
  return { name, padMultiple, batches: planBatches(lengths, { batchSize: rows, maxBatchTokens: tokens, padMultiple }) };
}

/**
 * The engine's plan (libs/engine/src/runtime/score-pipeline.ts): the engine's chunks, each
 * length-sorted and cut under the row and padded-token bounds.
 */
export function enginePlan(
  name: string,
  lengths: ArrayLike<number>,
  limits: { batchSize: number; maxBatchTokens: number; padMultiple: number },
): Plan {
  const batches: number[][] = [];
  for (const [start, end] of chunkRanges(lengths.length)) {
    const local = Array.from({ length: end - start }, (_, i) => lengths[start + i]);
    for (const b of planBatches(local, limits)) batches.push(b.map((i) => start + i));
  }
  return { name, padMultiple: limits.padMultiple, batches };
}

/** Tokens computed (rows x padded width, summed) by a plan. */
export function planTokens(plan: Plan, lengths: ArrayLike<number>): { real: number; computed: number; batches: number } {
  let real = 0;
  let computed = 0;
  for (const b of plan.batches) {
    let w = 0;
    for (const i of b) {
      real += lengths[i];
      w = Math.max(w, lengths[i]);
    }
    computed += b.length * Math.ceil(w / plan.padMultiple) * plan.padMultiple;
  }
  return { real, computed, batches: plan.batches.length };
}
