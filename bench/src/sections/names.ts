/** Row configurations and metric names that the sections write and observations.ts / the chart read back. */

export const TOKENIZER_TIME = 'tokenizer time (all texts, engine tokenizer)';
export const TENSOR_TIME = "tensor building, engine's plan (buildBatchTensors)";

export const CONFIG = {
  engine: 'engine: computeScore, defaults',
  engineFused: 'engine: computeScore, defaults, fused graph',
  limitFusedPrefix: 'runtime limit, fused graph',
};

export const FUSED_DIFF = 'max |Δscore| fused vs plain graph';

export const FUSED = {
  engineVsLimit: 'fused graph: engine / runtime limit',
  limitVsPlain: 'fused graph: runtime limit / plain runtime limit',
  engineVsPlain: 'fused graph: engine / plain engine',
};

export const INT8 = {
  fp32: 'engine: computeScore, fp32 graph',
  int8: 'engine: computeScore, int8 graph (quantized: true)',
  speed: 'int8 / fp32 (median of A/B rounds)',
  spearman: 'Spearman ρ per query, int8 vs fp32 (mean)',
  overlap: 'top-10 overlap per query, int8 vs fp32 (mean)',
  maxDiff: 'max |Δscore| int8 vs fp32',
  meanDiff: 'mean |Δscore| int8 vs fp32',
};

export const SCALE = {
  onePrefix: '1 worker process',
  twoPrefix: '2 worker processes',
  ratio: '2 workers / 1 worker (median of A/B rounds)',
};
