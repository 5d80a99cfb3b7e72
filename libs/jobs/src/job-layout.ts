/**
 * The layout of a job (pure): its queries, each against one document set, and the sets as ranges
 * of the job's flat document list. A document is addressed as (query, index within the query's
 * set) in shards, results and scores, and by its flat index in the stored texts and ids;
 * `flatIndex` is the one place that converts.
 */
import type { DocumentSet, JobQuery } from './validation/job-request';

export interface JobLayout {
  queries: JobQuery[];
  sets: DocumentSet[];
}

/** The part of a layout flat indices need: queries name their set, sets their offset. */
export interface LayoutRanges {
  queries: readonly { set: number }[];
  sets: readonly { offset: number; count: number }[];
}

/** Flat index of document `index` of query `q`'s set. */
export function flatIndex(layout: LayoutRanges, q: number, index: number): number {
  return layout.sets[layout.queries[q].set].offset + index;
}

/** Flat indices of documents of query `q`'s set. */
export function flatIndices(layout: LayoutRanges, q: number, indices: readonly number[]): number[] {
  const offset = flatIndex(layout, q, 0);
  return indices.map((i) => offset + i);
}

/** Documents in query `q`'s set. */
export function setSize(layout: LayoutRanges, q: number): number {
  return layout.sets[layout.queries[q].set].count;
}
