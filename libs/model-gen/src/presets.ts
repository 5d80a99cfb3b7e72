/** Model sizes. `tiny` is for unit tests; the others approximate real checkpoints for benchmarks. */

export interface ModelDims {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  /** Usable positions (the longest sequence a graph accepts). */
  maxPositions: number;
}

export type PresetName = 'tiny' | 'minilm' | 'base' | 'decoder';

export const PRESETS: Readonly<Record<PresetName, Readonly<ModelDims>>> = {
  /** Tests: generates in milliseconds, ~0.1 M parameters. */
  tiny: { layers: 2, hidden: 32, heads: 4, intermediate: 64, vocabSize: 1000, maxPositions: 512 },
  /** cross-encoder/ms-marco-MiniLM-L-6-v2 shape, ~23 M parameters. */
  minilm: { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocabSize: 30522, maxPositions: 512 },
  /** bge-reranker-base / BERT-base shape, ~110 M parameters. */
  base: { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocabSize: 30522, maxPositions: 512 },
  /** A decoder of realistic width (few layers), ~90 M parameters, for decoder-family benchmarks. */
  decoder: { layers: 4, hidden: 1024, heads: 16, intermediate: 4096, vocabSize: 32000, maxPositions: 4096 },
};
