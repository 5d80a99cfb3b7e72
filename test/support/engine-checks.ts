/** What the API's rerank answers are checked against: the engine in this process on the same model. */
import type { FlagReranker, Pair } from '@rerank/engine';

/** Indices best first, ties to the lower index (the API's order). */
export function ranking(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Scores and token counts of one query against texts, from the engine `engine()` gives (opened in beforeAll). */
export function engineChecks(engine: () => FlagReranker) {
  return {
    /** The sigmoid scores (raw with `normalize` false), in text order. */
    expectedScores: (q: string, texts: readonly string[], normalize = true): Promise<number[]> =>
      engine().computeScore(
        texts.map((t) => [q, t] as Pair),
        { normalize },
      ),
    /** Tokens the model reads for these pairs (usage.total_tokens). */
    tokensOf: async (q: string, texts: readonly string[]): Promise<number> => {
      const inputs = await engine().inspectInputs(texts.map((t) => [q, t] as Pair));
      return inputs.reduce((n, p) => n + p.inputIds.length, 0);
    },
  };
}
