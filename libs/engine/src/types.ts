import type { OptionsOf, OverridesOf } from './contract/engine-options';

/**
 * Reranker families, named as in reranker.json: FlagEmbedding's four, and `qwen3`, Qwen3-Reranker's
 * chat-prompt yes/no judgement (docs/models.md says why it is a family of its own).
 */
export type Family = 'encoder' | 'llm' | 'layerwise' | 'lightweight' | 'qwen3';
export const FAMILIES: readonly Family[] = ['encoder', 'llm', 'layerwise', 'lightweight', 'qwen3'];

/**
 * How a cross-encoder pair is cut to maxLength: `only_second`, FlagEmbedding's rule (the query cut to
 * queryMaxLength, then only the passage); `longest_first`, Hugging Face tokenizers' default, as
 * sentence-transformers' CrossEncoder and `tokenizer(q, p, truncation=True)` cut (the longer text first).
 */
export type Truncation = 'only_second' | 'longest_first';
export const TRUNCATIONS: readonly Truncation[] = ['only_second', 'longest_first'];

/** A (query, passage) pair, as the reference takes it. */
export type Pair = readonly [query: string, passage: string];

/**
 * One pair's score: a number, or one number per returned layer when a layer-wise or light-weight
 * call asks for several cutoff layers.
 */
export type PairScore = number | number[];

/** What `score()` returns: one `PairScore` per input pair, in input order (pair-major). */
export type PairScores<S extends PairScore = PairScore> = S[];

/**
 * What `computeScore` of a list returns, as the reference shapes it: a flat list when each pair has
 * one score, else one list per layer (layer-major).
 */
export type ListScores<S extends PairScore = PairScore> = S extends number ? number[] : number[][];

/** 'cpu', 'cuda', 'cuda:N', or N (meaning cuda:N). */
export type DeviceSpec = string | number;

/**
 * Constructor options: the reference's, camelCase, plus engine settings. Declared (type, range,
 * default, families, per call or not, doc) in contract/engine-options.ts; this type is derived from it.
 */
export type RerankerOptions = OptionsOf;

/** One call's rows of a device run: rows, real (unpadded) tokens and padded tokens (rows × width). */
export interface BatchStats {
  device: string;
  rows: number;
  realTokens: number;
  paddedTokens: number;
  /** Rows of the whole run: more than `rows` when other calls' pairs shared it. */
  batchRows: number;
}

/**
 * What `computeScore` accepts per call: the reference's keyword arguments, plus the instruction
 * settings (the reference fixes those at construction; a service scoring many jobs needs them per call).
 * Derived from contract/engine-options.ts (options with scope 'call').
 */
export type ScoreOverrides = OverridesOf;

/** A call's class on the devices: interactive work (a synchronous request) runs ahead of batch work (job shards, the CLI). */
export type WorkClass = 'interactive' | 'batch';

/** The tenant of a call that names none; the job system's one tenant when it runs without API keys. */
export const SHARED_TENANT = 'open';

/**
 * How a call's batches are scheduled against other calls on the same devices (not part of the
 * scores: a pair's score never depends on its batch). The job system makes one per request or job
 * at its API and carries it unchanged to here (libs/jobs/src/schedule.ts); ARCHITECTURE.md, "The
 * fairness model", says how the devices serve it.
 */
export interface ScoreSchedule {
  /** Default 'batch'. Classes are strict: interactive work first. */
  class?: WorkClass;
  /** Who the call works for (an API key's tenant); calls of one class share the devices fairly across tenants. Default SHARED_TENANT. */
  tenant?: string;
  /** The unit of fairness inside a tenant (a job id: a job's shards are one group); default: the call alone. */
  group?: string;
  /** The group's share weight inside its tenant (> 0, default 1): weight 2 gets twice the device time of weight 1. */
  weight?: number;
  /**
   * Cancels the call: its pairs not yet in a device run are dropped, a run of its pairs alone that a
   * device thread has not started is skipped, and the call rejects with ScoringCancelledError.
   */
  signal?: AbortSignal;
}
