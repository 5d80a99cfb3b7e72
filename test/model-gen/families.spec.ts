import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeCorpus, makeTestModel, MakeTestModelOptions, TestModelInfo } from '@rerank/model-gen';
import { decoderRow, encoderRow, feeds, loadTokenizer, maxAbsDiff, Row, runRows, signature, std, tempDir } from './helpers';

const root = tempDir('mg-families');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ids = 'int64[batch,sequence]';
interface Case {
  name: string;
  options: Omit<MakeTestModelOptions, 'outDir'>;
  inputs: string[];
  outputs: string[];
  sides: ('left' | 'right')[];
}
const CASES: Case[] = [
  {
    name: 'encoder bert',
    options: { family: 'encoder', encoderStyle: 'bert' },
    inputs: [`input_ids:${ids}`, `attention_mask:${ids}`, `token_type_ids:${ids}`],
    outputs: ['logits:float32[batch,1]'],
    sides: ['right'],
  },
  {
    name: 'encoder xlmr',
    options: { family: 'encoder', encoderStyle: 'xlmr' },
    inputs: [`input_ids:${ids}`, `attention_mask:${ids}`],
    outputs: ['logits:float32[batch,1]'],
    sides: ['right'], // encoders read the first token: right padding only
  },
  {
    name: 'encoder modernbert',
    options: { family: 'encoder', encoderStyle: 'modernbert' },
    inputs: [`input_ids:${ids}`, `attention_mask:${ids}`],
    outputs: ['logits:float32[batch,1]'],
    sides: ['right'], // positions count from the left edge, as ModernBERT's
  },
  {
    name: 'qwen3',
    options: { family: 'qwen3', qwen3Output: 'scores' },
    inputs: [`input_ids:${ids}`, `attention_mask:${ids}`, `position_ids:${ids}`],
    outputs: ['scores:float32[batch]'],
    sides: ['left', 'right'],
  },
  {
    name: 'llm',
    options: { family: 'llm' },
    inputs: [`input_ids:${ids}`, `attention_mask:${ids}`, `position_ids:${ids}`],
    outputs: ['scores:float32[batch]'],
    sides: ['left', 'right'],
  },
  {
    name: 'layerwise',
    options: { family: 'layerwise' },
    inputs: [`input_ids:${ids}`, `attention_mask:${ids}`, `position_ids:${ids}`],
    outputs: ['scores:float32[batch,2]'],
    sides: ['left', 'right'],
  },
  {
    name: 'lightweight',
    options: { family: 'lightweight' },
    inputs: [
      `input_ids:${ids}`,
      `attention_mask:${ids}`,
      `position_ids:${ids}`,
      'query_lengths:int64[batch]',
      'prompt_lengths:int64[batch]',
    ],
    outputs: ['scores:float32[batch,2]'],
    sides: ['right'],
  },
];

describe.each(CASES)('$name', ({ name, options, inputs, outputs, sides }) => {
  let info: TestModelInfo;
  let session: ort.InferenceSession;
  let rows: Row[];

  beforeAll(async () => {
    info = await makeTestModel({ ...options, outDir: join(root, name.replace(' ', '-')) });
    session = await ort.InferenceSession.create(info.files.model);
    const tok = loadTokenizer(info.dir);
    rows = makeCorpus(42)
      .pairs(10)
      .map(([q, p]) => (options.family === 'encoder' ? encoderRow(tok, q, p) : decoderRow(tok, info, q, p)));
  });

  it('writes the Hugging Face layout and generates fast', () => {
    for (const f of [
      'onnx/model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
      'config.json',
      'reranker.json',
      'special_tokens_map.json',
    ]) {
      expect(existsSync(join(info.dir, f))).toBe(true);
    }
    expect(info.elapsedMs).toBeLessThan(1000);
    expect(info.parameterCount).toBeGreaterThan(50_000);
    expect(info.inputNames).toEqual(inputs.map((s) => s.split(':')[0]));
  });

  it('has the family signature', () => {
    expect(signature(session)).toEqual({ inputs, outputs });
  });

  it('scores each pair independently of batch and padding', async () => {
    const alone: number[][] = [];
    for (const r of rows) alone.push((await runRows(session, feeds(info, [r], 'right')))[0]);
    for (const side of sides) {
      const batch = await runRows(session, feeds(info, rows, side, 5));
      expect(maxAbsDiff(batch, alone)).toBeLessThan(1e-5);
    }
    // Scores differ clearly between pairs.
    for (let k = 0; k < alone[0].length; k++) expect(std(alone.map((r) => r[k]))).toBeGreaterThan(0.2);
  });

  it('accepts every token id of the vocabulary', async () => {
    const r: Row = { ids: [info.special.bos ?? 0, info.dims.vocabSize - 1, 5], typeIds: [0, 0, 0], queryLength: 1, promptLength: 1 };
    const out = await runRows(session, feeds(info, [r], 'right'));
    expect(out[0].every(Number.isFinite)).toBe(true);
  });

  it('is deterministic: same seed, same bytes; other seed, other weights', async () => {
    const again = await makeTestModel({ ...options, outDir: join(root, `${name.replace(' ', '-')}-again`) });
    const other = await makeTestModel({ ...options, seed: 2, outDir: join(root, `${name.replace(' ', '-')}-seed2`) });
    const bytes = (i: TestModelInfo, f = i.files.model) => readFileSync(f);
    expect(bytes(again).equals(bytes(info))).toBe(true);
    expect(bytes(other).equals(bytes(info))).toBe(false);
    expect(bytes(other, other.files.tokenizer).equals(bytes(info, info.files.tokenizer))).toBe(true);
  });
});

describe('config.json and reranker.json', () => {
  const json = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

  it('encoders name their architecture and one label', async () => {
    const bert = await makeTestModel({ family: 'encoder', outDir: join(root, 'cfg-bert') });
    expect(json(bert.dir, 'config.json')).toMatchObject({
      architectures: ['BertForSequenceClassification'],
      model_type: 'bert',
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      vocab_size: 1000,
      max_position_embeddings: 512,
      pad_token_id: 0,
      num_labels: 1,
    });
    expect(json(bert.dir, 'reranker.json')).toEqual({ family: 'encoder' });
    const xlmr = await makeTestModel({ family: 'encoder', encoderStyle: 'xlmr', outDir: join(root, 'cfg-xlmr') });
    expect(json(xlmr.dir, 'config.json')).toMatchObject({
      architectures: ['XLMRobertaForSequenceClassification'],
      pad_token_id: 1,
      max_position_embeddings: 514,
    });
  });

  it('decoders record the yes token, layers and compression settings', async () => {
    const llm = await makeTestModel({ family: 'llm', outDir: join(root, 'cfg-llm') });
    expect(json(llm.dir, 'config.json')).toMatchObject({
      architectures: ['GemmaForCausalLM'],
      pad_token_id: 0,
      eos_token_id: 1,
      bos_token_id: 2,
    });
    expect(json(llm.dir, 'reranker.json')).toEqual({ family: 'llm', yes_token: 'Yes' });
    expect(json(llm.dir, 'tokenizer_config.json').padding_side).toBe('left');
    expect(llm.special).toMatchObject({ pad: 0, eos: 1, bos: 2, unk: 3 });
    expect(loadTokenizer(llm.dir).encode('Yes', { add_special_tokens: false }).ids).toEqual([llm.special.yes]);

    const lw = await makeTestModel({ family: 'layerwise', layers: 3, scoreLayers: [1, 3], outDir: join(root, 'cfg-lw') });
    expect(json(lw.dir, 'config.json').architectures).toEqual(['LayerWiseMiniCPMForCausalLM']);
    expect(json(lw.dir, 'reranker.json')).toEqual({ family: 'layerwise', yes_token: 'Yes', layers: [1, 3], default_cutoff_layers: [3] });

    const light = await makeTestModel({ family: 'lightweight', outDir: join(root, 'cfg-light') });
    expect(json(light.dir, 'config.json').architectures).toEqual(['Gemma2ForCausalLM']);
    expect(json(light.dir, 'tokenizer_config.json').padding_side).toBe('right');
    expect(json(light.dir, 'reranker.json')).toEqual({
      family: 'lightweight',
      yes_token: 'Yes',
      layers: [1, 2],
      default_cutoff_layers: [2],
      compress_ratio: 1,
      compress_layers: [1],
      variants: [2, 4, 8].map((r) => ({ file: `onnx/model_cr${r}.onnx`, compress_ratio: r, compress_layers: [1] })),
    });
  });
});

describe('option checks', () => {
  it('rejects layers outside the model and cutoff layers without a score head', async () => {
    await expect(makeTestModel({ family: 'layerwise', scoreLayers: [1, 3], outDir: join(root, 'bad1') })).rejects.toThrow(/outside/);
    await expect(makeTestModel({ family: 'lightweight', compressLayers: [5], outDir: join(root, 'bad2') })).rejects.toThrow(/outside/);
    await expect(
      makeTestModel({ family: 'layerwise', scoreLayers: [1], defaultCutoffLayers: [2], outDir: join(root, 'bad3') }),
    ).rejects.toThrow(/subset/);
    await expect(makeTestModel({ family: 'encoder', hidden: 30, heads: 4, outDir: join(root, 'bad4') })).rejects.toThrow(/multiple/);
  });

  it('supports layer 0 (embeddings) and a custom column order', async () => {
    const info = await makeTestModel({ family: 'layerwise', layers: 3, scoreLayers: [3, 0, 1], outDir: join(root, 'order') });
    const s = await ort.InferenceSession.create(info.files.model);
    expect(signature(s).outputs).toEqual(['scores:float32[batch,3]']);
    expect(info.defaultCutoffLayers).toEqual([1]);
  });
});
