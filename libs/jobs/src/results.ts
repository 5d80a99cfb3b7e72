/**
 * The results of a job as the API returns them (and webhooks inline): per query, its top-k best
 * first. Built once by the aggregator and stored as is.
 */
import { flatIndex, type JobLayout } from './job-layout';
import { type PairScore, type Ranked, rankingScore, topK } from './merge';
import type { ItemId } from './validation/documents';

export interface RankedDocument {
  index: number;
  id?: ItemId;
  /** The ranking score (the last layer's when several cutoff layers). */
  score: number;
  /** Every layer's score, when several cutoff layers were asked for. */
  scores?: number[];
  document?: { text: string };
}

export interface QueryResult {
  query_index: number;
  query_id?: ItemId;
  query: string;
  top_k: RankedDocument[];
}

export interface RankPlan {
  ranked: Ranked[][];
  /** Flattened document indices of every top-k entry (to fetch their texts). */
  flatIndices: number[];
}

export function rankAll(layout: JobLayout, scores: readonly PairScore[][], k: number): RankPlan {
  const ranked = scores.map((list) => topK(list, k));
  const flatIndices: number[] = [];
  ranked.forEach((list, q) => {
    for (const r of list) flatIndices.push(flatIndex(layout, q, r.index));
  });
  return { ranked, flatIndices };
}

export function rankedDocument(r: Ranked, id: ItemId | null | undefined, text: string | null | undefined): RankedDocument {
  const out: RankedDocument = { index: r.index, score: rankingScore(r.score) };
  if (id !== null && id !== undefined) out.id = id;
  if (Array.isArray(r.score)) out.scores = r.score;
  if (typeof text === 'string') out.document = { text };
  // -Infinity stands for NaN in ranking; JSON has neither.
  if (!Number.isFinite(out.score)) out.score = null as unknown as number;
  return out;
}

/** `texts` aligned with `plan.flatIndices` (or null when documents are not returned). */
export function formatResults(
  layout: JobLayout,
  plan: RankPlan,
  ids: (ItemId | null)[] | null,
  texts: (string | null)[] | null,
): QueryResult[] {
  let t = 0;
  return plan.ranked.map((list, q) => {
    const query = layout.queries[q];
    const entry: QueryResult = {
      query_index: q,
      ...(query.id !== null && query.id !== undefined ? { query_id: query.id } : {}),
      query: query.text,
      top_k: list.map((r) => rankedDocument(r, ids?.[flatIndex(layout, q, r.index)], texts ? texts[t++] : undefined)),
    };
    return entry;
  });
}
