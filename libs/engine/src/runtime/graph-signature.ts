import { ModelLoadError } from '../errors';
import type { Family } from '../types';
import type { InputSet } from '../batching/tensors';
import type { GraphSignature, GraphValue } from './device-session';

/** How a family reads its scores off the graph's output. */
export type OutputKind =
  /** encoder `logits` [B, 1] or [B]; qwen3 sequence-classification conversions likewise */
  | 'logit'
  /** llm `scores` [B]; qwen3 `scores` [B] (l_yes − l_no) */
  | 'pooled'
  /** llm and qwen3 `logits` [B, T, V], pooled by the engine */
  | 'token-logits'
  /** layer-wise / light-weight `scores` [B, K] */
  | 'layer-scores';

export interface GraphPlan {
  inputs: InputSet;
  output: { name: string; kind: OutputKind };
}

interface Expected {
  required: Record<string, number>;
  optional: Record<string, number>;
  outputs: { name: string; rank: number; kind: OutputKind }[];
}

const IDS = { input_ids: 2, attention_mask: 2 };
const EXPECTED: Record<Family, Expected> = {
  encoder: {
    required: IDS,
    optional: { token_type_ids: 2 },
    outputs: [
      { name: 'logits', rank: 2, kind: 'logit' },
      { name: 'logits', rank: 1, kind: 'logit' },
    ],
  },
  llm: {
    required: IDS,
    optional: { position_ids: 2 },
    outputs: [
      { name: 'scores', rank: 1, kind: 'pooled' },
      { name: 'logits', rank: 3, kind: 'token-logits' },
    ],
  },
  qwen3: {
    required: IDS,
    optional: { position_ids: 2 },
    outputs: [
      { name: 'scores', rank: 1, kind: 'pooled' },
      { name: 'logits', rank: 2, kind: 'logit' },
      { name: 'logits', rank: 1, kind: 'logit' },
      { name: 'logits', rank: 3, kind: 'token-logits' },
    ],
  },
  layerwise: { required: IDS, optional: { position_ids: 2 }, outputs: [{ name: 'scores', rank: 2, kind: 'layer-scores' }] },
  lightweight: {
    required: { ...IDS, query_lengths: 1, prompt_lengths: 1 },
    optional: { position_ids: 2 },
    outputs: [{ name: 'scores', rank: 2, kind: 'layer-scores' }],
  },
};

const FLOATS = new Set(['float32', 'float16']);
const dims = (rank: number) => ['B', 'T', 'V'].slice(0, rank).join(',');

function describeExpected(e: Expected): string {
  const inputs = [
    ...Object.entries(e.required).map(([n, r]) => `${n}:int64[${dims(r)}]`),
    ...Object.entries(e.optional).map(([n, r]) => `${n}:int64[${dims(r)}] (optional)`),
  ];
  const outputs = e.outputs.map(
    (o) => `${o.name}:float[${o.kind === 'layer-scores' ? 'B,K' : o.kind === 'logit' && o.rank === 2 ? 'B,1' : dims(o.rank)}]`,
  );
  return `inputs ${inputs.join(', ')}; output ${outputs.join(' or ')}`;
}

function describeFound(sig: GraphSignature): string {
  const one = (v: GraphValue) => `${v.name}:${v.type}[rank ${v.rank}]`;
  return `inputs ${sig.inputs.map(one).join(', ') || 'none'}; outputs ${sig.outputs.map(one).join(', ') || 'none'}`;
}

/** Checks a graph against its family's contract (docs/models.md, Graph inputs and outputs) and says how to feed and read it. */
export function planGraph(family: Family, sig: GraphSignature, path: string): GraphPlan {
  const expected = EXPECTED[family];
  const fail = (why: string) =>
    new ModelLoadError(
      `${path} does not fit the ${family} family (${why}): expected ${describeExpected(expected)}; found ${describeFound(sig)}`,
    );
  const inputs = new Map(sig.inputs.map((v) => [v.name, v]));
  for (const [name, rank] of Object.entries(expected.required)) {
    const v = inputs.get(name);
    if (!v) throw fail(`input ${name} is missing`);
    if (v.type !== 'int64' || v.rank !== rank) throw fail(`input ${name} is ${v.type} of rank ${v.rank}`);
  }
  for (const v of sig.inputs) {
    const rank = expected.required[v.name] ?? expected.optional[v.name];
    if (rank === undefined) throw fail(`input ${v.name} is not one the engine feeds`);
    if (v.type !== 'int64' || v.rank !== rank) throw fail(`input ${v.name} is ${v.type} of rank ${v.rank}`);
  }
  for (const candidate of expected.outputs) {
    const out = sig.outputs.find((o) => o.name === candidate.name && o.rank === candidate.rank);
    if (!out) continue;
    if (!FLOATS.has(out.type)) throw fail(`output ${out.name} is ${out.type}, not float32 or float16`);
    return {
      inputs: { tokenTypeIds: inputs.has('token_type_ids'), positionIds: inputs.has('position_ids'), lengths: family === 'lightweight' },
      output: { name: candidate.name, kind: candidate.kind },
    };
  }
  throw fail('no output of the expected name and rank');
}
