import { parseArgs } from 'node:util';
import { makeTestModel, type MakeTestModelOptions, PRESETS, type PresetName } from '@rerank/model-gen';

export const MAKE_TEST_MODEL_HELP = `rerank make-test-model --family <encoder|llm|layerwise|lightweight|qwen3> --out <dir> [options]

Writes a generated reranker model: a real ONNX graph (embeddings, attention blocks, the family's
head) with deterministic weights, a matching tokenizer.json, tokenizer_config.json, config.json and
reranker.json, in the Hugging Face layout the engine reads. For tests, demos and benchmarks; the
scores mean nothing.

  --family <name>           encoder | llm | layerwise | lightweight | qwen3 (required)
  --out <dir>               output directory (required)
  --preset <name>           ${Object.keys(PRESETS).join(' | ')} (default tiny)
  --layers <n> --hidden <n> --heads <n> --intermediate <n> --vocab-size <n> --max-positions <n>
                            override the preset's sizes
  --seed <n>                weight seed (default 1); same seed and options, same files
  --encoder-style <s>       bert | xlmr | modernbert (encoder; default bert). modernbert: rotary positions,
                            global and local attention, no token types, byte-level BPE with [CLS] / [SEP],
                            8,192 positions, longest_first truncation (a CrossEncoder-style model)
  --llm-output <s>          scores | logits (llm; default scores)
  --qwen3-output <s>        logits | scores | classifier (qwen3, Qwen3-Reranker-shaped; default logits):
                            the LM head's logits, l_yes - l_no pooled in the graph, or a
                            sequence-classification conversion's one logit
  --score-layers <list>     layer-wise / light-weight: layers with a score head
  --fp16                    also write onnx/model_fp16.onnx (for GPUs)
  --quantized               also write onnx/model_quantized.onnx (int8)
  --fused                   encoder: transformer blocks as onnxruntime's fused operators (Attention,
                            SkipLayerNormalization, BiasGelu), as its transformer optimizer leaves an export
`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseMakeTestModelArgs(argv: string[]): MakeTestModelOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      family: { type: 'string' },
      out: { type: 'string' },
      preset: { type: 'string' },
      layers: { type: 'string' },
      hidden: { type: 'string' },
      heads: { type: 'string' },
      intermediate: { type: 'string' },
      'vocab-size': { type: 'string' },
      'max-positions': { type: 'string' },
      seed: { type: 'string' },
      'encoder-style': { type: 'string' },
      'llm-output': { type: 'string' },
      'qwen3-output': { type: 'string' },
      'score-layers': { type: 'string' },
      fp16: { type: 'boolean' },
      quantized: { type: 'boolean' },
      fused: { type: 'boolean' },
    },
  });
  const families = ['encoder', 'llm', 'layerwise', 'lightweight', 'qwen3'];
  if (!values.family || !families.includes(values.family)) throw new Error(`--family must be one of ${families.join(', ')}`);
  if (!values.out) throw new Error('--out <dir> is required');
  if (values.preset !== undefined && !(values.preset in PRESETS))
    throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  if (values['encoder-style'] !== undefined && !['bert', 'xlmr', 'modernbert'].includes(values['encoder-style']))
    throw new Error('--encoder-style must be bert, xlmr or modernbert');
  if (values['qwen3-output'] !== undefined && !['logits', 'scores', 'classifier'].includes(values['qwen3-output']))
    throw new Error('--qwen3-output must be logits, scores or classifier');
  if (values['llm-output'] !== undefined && !['scores', 'logits'].includes(values['llm-output']))
    throw new Error('--llm-output must be scores or logits');
  const options: MakeTestModelOptions = {
    family: values.family as MakeTestModelOptions['family'],
    outDir: values.out,
    preset: values.preset as PresetName | undefined,
    layers: int('layers', values.layers),
    hidden: int('hidden', values.hidden),
    heads: int('heads', values.heads),
    intermediate: int('intermediate', values.intermediate),
    vocabSize: int('vocab-size', values['vocab-size']),
    maxPositions: int('max-positions', values['max-positions']),
    seed: int('seed', values.seed),
    encoderStyle: values['encoder-style'] as MakeTestModelOptions['encoderStyle'],
    llmOutput: values['llm-output'] as MakeTestModelOptions['llmOutput'],
    qwen3Output: values['qwen3-output'] as MakeTestModelOptions['qwen3Output'],
    scoreLayers: values['score-layers']?.split(',').map((s) => int('score-layers', s.trim()) as number),
    fp16: values.fp16,
    quantized: values.quantized,
    fused: values.fused,
  };
  for (const key of Object.keys(options) as (keyof MakeTestModelOptions)[]) if (options[key] === undefined) delete options[key];
  return options;
}

export async function runMakeTestModel(argv: string[]): Promise<void> {
  const info = await makeTestModel(parseMakeTestModelArgs(argv));
  const d = info.dims;
  process.stdout.write(
    `${info.dir}: generated ${info.family} test model, ${d.layers} layers, hidden ${d.hidden}, ${d.heads} heads, ` +
      `vocabulary ${d.vocabSize}, ${(info.parameterCount / 1e6).toFixed(1)} M parameters, ${(info.modelBytes / 1e6).toFixed(1)} MB\n`,
  );
}
