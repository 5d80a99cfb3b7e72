/** The four reranker families of FlagEmbedding, named as in reranker.json. */
export type Family = 'encoder' | 'llm' | 'layerwise' | 'lightweight';
export const FAMILIES: readonly Family[] = ['encoder', 'llm', 'layerwise', 'lightweight'];

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

/** Which graph file of a model directory to run. */
export type ModelVariant = 'fp32' | 'fp16' | 'quantized';

/** Constructor options: the reference's, camelCase, plus engine settings. */
export interface RerankerOptions {
  useFp16?: boolean;
  /** `undefined` takes the family default ("A: " / "B: " for the LLM families); `null` means none. */
  queryInstructionForRerank?: string | null;
  queryInstructionFormat?: string;
  passageInstructionForRerank?: string | null;
  passageInstructionFormat?: string;
  /** `undefined`/`null`: every GPU when the CUDA execution provider and GPUs are present, else the CPU. */
  devices?: DeviceSpec | DeviceSpec[] | null;
  batchSize?: number;
  queryMaxLength?: number | null;
  maxLength?: number;
  normalize?: boolean;
  /** Accepted for API parity; ONNX graphs carry no Python code, so there is nothing to trust. */
  trustRemoteCode?: boolean;
  /** Where named models are looked up and hub downloads are cached. */
  cacheDir?: string | null;
  /** LLM families: the instruction placed after the pair. */
  prompt?: string | null;
  /** Layer-wise and light-weight: layers whose scores to return. */
  cutoffLayers?: number[] | null;
  /** Light-weight: layers where tokens are compressed (selects the graph variant). */
  compressLayers?: number[] | null;
  /** Light-weight: 1, 2, 4 or 8 (selects the graph variant). */
  compressRatio?: number;

  // Engine settings (not in the reference).
  /** Upper bound on padded tokens (rows x padded length) per batch, besides `batchSize`. */
  maxBatchTokens?: number;
  /** Threads the runtime uses inside one operator, per device session (0: runtime default). */
  intraOpNumThreads?: number;
  /** Run `model_quantized.onnx` (int8) instead of the fp32 graph. */
  quantized?: boolean;
  /**
   * Further onnxruntime session options for `InferenceSession.create`, over the engine's defaults
   * (`graphOptimizationLevel: 'all'`, sequential execution, one inter-op thread), e.g.
   * `{ extra: { session: { intra_op: { allow_spinning: '0' } } } }`. `devices` and
   * `intraOpNumThreads` still decide the provider and thread count.
   */
  sessionOptions?: Record<string, unknown>;
  /** Hub download: revision (branch, tag or commit). */
  revision?: string;
  /** Hub download: endpoint, default `HF_ENDPOINT` or https://huggingface.co. */
  hubEndpoint?: string;
  /** Hub download: token, default `HF_TOKEN`. */
  hubToken?: string;
  /** Refuse hub downloads (default from `HF_HUB_OFFLINE`). */
  offline?: boolean;
  /** Called with warnings (fp16 asked on CPU, a variant missing, ...). Default: console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * What `computeScore` accepts per call: the reference's keyword arguments, plus the instruction
 * settings (the reference fixes those at construction; a service scoring many jobs needs them per call).
 */
export interface ScoreOverrides {
  queryInstructionForRerank?: string | null;
  queryInstructionFormat?: string;
  passageInstructionForRerank?: string | null;
  passageInstructionFormat?: string;
  batchSize?: number;
  queryMaxLength?: number | null;
  maxLength?: number;
  normalize?: boolean;
  prompt?: string | null;
  cutoffLayers?: number[] | null;
  compressLayers?: number[] | null;
  compressRatio?: number;
  maxBatchTokens?: number;
}

/**
 * How a call's batches are scheduled against other calls on the same devices (not part of the
 * scores: a pair's score never depends on its batch). `priority`: lower runs first; 0 for
 * interactive requests, 1 (the default) for bulk work; equal priorities interleave batch by batch.
 */
export interface ScoreSchedule {
  priority?: number;
}
