import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AutoReranker,
  detectFamily,
  FlagLLMReranker,
  FlagReranker,
  LayerWiseFlagLLMReranker,
  LightWeightFlagLLMReranker,
  ModelLoadError,
  RerankerArgumentError,
  type RerankerOptions,
} from '@rerank/engine';
import { TestModels } from './support/models';

/** A copy of a generated model with some files changed. */
function variantOf(root: string, source: string, name: string, change: (dir: string) => void): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(source, dir, { recursive: true });
  change(dir);
  return dir;
}
const editJson = (path: string, edit: (v: Record<string, unknown>) => Record<string, unknown>) =>
  writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')))));

describe('model directories', () => {
  const models = new TestModels();
  afterAll(() => models.cleanup());

  test('missing directory, graph or tokenizer: an error that says what was expected', async () => {
    const model = await models.get({ family: 'encoder' });
    await expect(models.track(new FlagReranker(join(models.root, 'nope'))).ready()).rejects.toThrow(
      /model directory .*nope does not exist/,
    );
    const noGraph = variantOf(models.root, model.dir, 'no-graph', (d) => rmSync(join(d, 'onnx'), { recursive: true }));
    await expect(models.track(new FlagReranker(noGraph)).ready()).rejects.toThrow(
      /is not a model directory: expected onnx\/model\.onnx or model\.onnx/,
    );
    const noTokenizer = variantOf(models.root, model.dir, 'no-tokenizer', (d) => rmSync(join(d, 'tokenizer.json')));
    await expect(models.track(new FlagReranker(noTokenizer)).ready()).rejects.toThrow(/no tokenizer\.json in .*no-tokenizer/);
  });

  test('model.onnx beside the metadata (no onnx/ folder) works too', async () => {
    const model = await models.get({ family: 'encoder' });
    const flat = variantOf(models.root, model.dir, 'flat', (d) => {
      cpSync(join(d, 'onnx', 'model.onnx'), join(d, 'model.onnx'));
      rmSync(join(d, 'onnx'), { recursive: true });
    });
    const pair: [string, string] = ['what is ai', 'artificial intelligence'];
    expect(await models.track(new FlagReranker(flat)).computeScore(pair)).toBe(
      await models.track(new FlagReranker(model.dir)).computeScore(pair),
    );
  });

  test('a graph that does not fit the family is refused at load, naming expected and found signatures', async () => {
    const llm = await models.get({ family: 'llm' });
    // reranker.json says llm: the class says which to use.
    await expect(models.track(new FlagReranker(llm.dir)).ready()).rejects.toThrow(
      /is a llm model \(reranker\.json\), not encoder; use the matching class or AutoReranker/,
    );
    // Without reranker.json, the graph itself is checked.
    const bare = variantOf(models.root, llm.dir, 'llm-bare', (d) => rmSync(join(d, 'reranker.json')));
    const error = await models
      .track(new FlagReranker(bare))
      .ready()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(
      /does not fit the encoder family \(input position_ids is not one the engine feeds\): expected inputs input_ids:int64\[B,T\], attention_mask:int64\[B,T\], token_type_ids:int64\[B,T\] \(optional\); output logits:float\[B,1\] or logits:float\[B\]; found inputs input_ids:int64\[rank 2\], attention_mask:int64\[rank 2\], position_ids:int64\[rank 2\]; outputs scores:float32\[rank 1\]/,
    );
    const layerwise = await models.get({ family: 'layerwise' });
    const lwBare = variantOf(models.root, layerwise.dir, 'lw-bare', (d) => rmSync(join(d, 'reranker.json')));
    await expect(models.track(new FlagLLMReranker(lwBare)).ready()).rejects.toThrow(
      /does not fit the llm family \(no output of the expected name and rank\)/,
    );
    await expect(models.track(new LightWeightFlagLLMReranker(lwBare)).ready()).rejects.toThrow(
      /does not fit the lightweight family \(input query_lengths is missing\)/,
    );
  });

  test('layer-wise needs the layer numbers in reranker.json; the LLM families need a yes token', async () => {
    const layerwise = await models.get({ family: 'layerwise' });
    const noLayers = variantOf(models.root, layerwise.dir, 'lw-no-layers', (d) =>
      editJson(join(d, 'reranker.json'), ({ layers: _l, default_cutoff_layers: _d, ...rest }) => rest),
    );
    await expect(models.track(new LayerWiseFlagLLMReranker(noLayers)).computeScore(['q', 'p'])).rejects.toThrow(
      /reranker\.json must list "layers"/,
    );
    const noBos = variantOf(models.root, layerwise.dir, 'lw-no-bos', (d) =>
      editJson(join(d, 'tokenizer_config.json'), ({ bos_token: _b, ...rest }) => rest),
    );
    rmSync(join(noBos, 'special_tokens_map.json'), { force: true });
    await expect(models.track(new LayerWiseFlagLLMReranker(noBos)).ready()).rejects.toThrow(
      /starts every sequence with bos, but tokenizer_config\.json names no bos_token/,
    );
  });

  test('cutoff layers must be ones the graph returns', async () => {
    const layerwise = await models.get({ family: 'layerwise' });
    const r = models.track(new LayerWiseFlagLLMReranker(layerwise.dir));
    await expect(r.computeScore(['q', 'p'], { cutoffLayers: [42] })).rejects.toThrow(
      new RegExp(`^cutoffLayers: layer 42 is not one this model returns; it offers \\[${(layerwise.scoreLayers as number[]).join(',')}\\]`),
    );
  });

  test('quantized asks for the int8 graph, and says when there is none', async () => {
    const encoder = await models.get({ family: 'encoder' });
    await expect(models.track(new FlagReranker(encoder.dir, { quantized: true })).ready()).rejects.toThrow(
      /quantized: .* has no int8 graph/,
    );
  });

  test('useFp16 on CPU warns and runs fp32, as the reference', async () => {
    const encoder = await models.get({ family: 'encoder' });
    const warnings: string[] = [];
    const r = models.track(new FlagReranker(encoder.dir, { useFp16: true, onWarning: (m) => warnings.push(m) }));
    const pair: [string, string] = ['what is ai', 'artificial intelligence'];
    expect(await r.computeScore(pair)).toBe(await models.track(new FlagReranker(encoder.dir)).computeScore(pair));
    expect(warnings).toEqual(['useFp16 is ignored on CPU (fp32 graph used)']);
  });
});

describe('AutoReranker', () => {
  const models = new TestModels();
  afterAll(() => models.cleanup());

  test('family from reranker.json', async () => {
    for (const family of ['encoder', 'llm', 'layerwise', 'lightweight'] as const) {
      const model = await models.get({ family });
      expect(await detectFamily(model.dir)).toMatchObject({ family, source: 'reranker.json' });
    }
    const r = models.track(await AutoReranker.fromFinetuned((await models.get({ family: 'layerwise' })).dir));
    expect(r).toBeInstanceOf(LayerWiseFlagLLMReranker);
  });

  test('family from the reference name mapping when reranker.json says nothing (bge-reranker-v2-m3 is an encoder)', async () => {
    const cases = [
      ['bge-reranker-v2-m3', 'encoder'],
      ['bge-reranker-v2-gemma', 'llm'],
      ['bge-reranker-v2-minicpm-layerwise', 'layerwise'],
      ['bge-reranker-v2.5-gemma2-lightweight', 'lightweight'],
      ['jina-reranker-v2-base-multilingual', 'encoder'],
    ] as const;
    const encoder = await models.get({ family: 'encoder' });
    for (const [name, family] of cases) {
      const dir = variantOf(models.root, encoder.dir, name, (d) => {
        rmSync(join(d, 'reranker.json'));
        rmSync(join(d, 'config.json'));
      });
      expect(await detectFamily(dir)).toMatchObject({ family, source: 'name' });
    }
    // A fine-tuned checkpoint folder takes its parent's name.
    mkdirSync(join(models.root, 'bge-reranker-large'), { recursive: true });
    const checkpoint = variantOf(join(models.root, 'bge-reranker-large'), encoder.dir, 'checkpoint-500', (d) =>
      rmSync(join(d, 'reranker.json')),
    );
    expect(await detectFamily(checkpoint)).toMatchObject({ family: 'encoder', source: 'name' });
  });

  test('family from config.json architectures', async () => {
    const llm = await models.get({ family: 'llm' });
    const dir = variantOf(models.root, llm.dir, 'some-llm', (d) => rmSync(join(d, 'reranker.json')));
    expect(await detectFamily(dir)).toMatchObject({ family: 'llm', source: 'architectures' });
  });

  test('an unknown family is an error that lists what was tried', async () => {
    const encoder = await models.get({ family: 'encoder' });
    const dir = variantOf(models.root, encoder.dir, 'mystery', (d) => {
      rmSync(join(d, 'reranker.json'));
      editJson(join(d, 'config.json'), (c) => ({ ...c, architectures: ['SomethingElse'] }));
    });
    await expect(detectFamily(dir)).rejects.toThrow(
      /cannot tell the family of .*mystery: no "family" in reranker\.json, the name is not one of bge-reranker-base.*architectures \["SomethingElse"\].*pass family/,
    );
    expect(models.track(await AutoReranker.fromFinetuned(dir, { family: 'decoder-only-base' }))).toBeInstanceOf(FlagLLMReranker);
    await expect(detectFamily(dir, { family: 'transformer' })).rejects.toThrow(
      /^family: unknown family "transformer"; use one of encoder, encoder-only-base/,
    );
  });
});

describe('option errors name the argument and the fix', () => {
  const dir = '/nonexistent-model-dir-is-never-opened';
  const cases: [string, () => unknown, RegExp][] = [
    [
      'unknown option',
      () => new FlagReranker(dir, { bacthSize: 4 } as RerankerOptions),
      /^bacthSize: not an option of the encoder family \(known options: useFp16/,
    ],
    [
      'LLM option on an encoder',
      () => new FlagReranker(dir, { prompt: 'x' } as RerankerOptions),
      /^prompt: not an option of the encoder family \(it applies to the llm \/ layerwise \/ lightweight families only\)/,
    ],
    [
      'compression on the LLM family',
      () => new FlagLLMReranker(dir, { compressRatio: 2 } as RerankerOptions),
      /^compressRatio: not an option of the llm family \(it applies to the lightweight families only\)/,
    ],
    [
      'compress ratio outside 1/2/4/8',
      () => new LightWeightFlagLLMReranker(dir, { compressRatio: 3 }),
      /^compressRatio: must be 1, 2, 4 or 8, got 3/,
    ],
    ['batch size 0', () => new FlagReranker(dir, { batchSize: 0 }), /^batchSize: must be a positive integer, got 0/],
    ['fractional max length', () => new FlagReranker(dir, { maxLength: 12.5 }), /^maxLength: must be a positive integer, got 12.5/],
    ['unknown device', () => new FlagReranker(dir, { devices: 'tpu' }), /^devices: unknown device "tpu"; use 'cpu', 'cuda', 'cuda:N'/],
    [
      'normalize not boolean',
      () => new FlagReranker(dir, { normalize: 'yes' as unknown as boolean }),
      /^normalize: must be true or false, got "yes"/,
    ],
    [
      'empty cutoff layers',
      () => new LayerWiseFlagLLMReranker(dir, { cutoffLayers: [] }),
      /^cutoffLayers: must be a non-empty list of layer numbers, got \[\]/,
    ],
    [
      'bad instruction format',
      () => new FlagReranker(dir, { queryInstructionForRerank: 'Q', queryInstructionFormat: '{}{}{}' }),
      /^queryInstructionFormat: format "\{\}\{\}\{\}" asks for field 2/,
    ],
    ['empty model name', () => new FlagReranker('  '), /^modelNameOrPath: must name a model directory or hub id/],
  ];
  test.each(cases)('%s', (_name, make, message) => {
    expect(make).toThrow(RerankerArgumentError);
    expect(make).toThrow(message);
  });

  test('per-call overrides are checked the same way', async () => {
    const r = new FlagReranker(dir);
    await expect(r.computeScore(['q', 'p'], { batchSize: -1 })).rejects.toThrow(/^batchSize: must be a positive integer, got -1/);
    await expect(r.computeScore(['q', 'p'], { cutoffLayers: [1] } as object)).rejects.toThrow(
      /^cutoffLayers: not an option of the encoder family/,
    );
  });
});

describe('session options', () => {
  const models = new TestModels();
  afterAll(() => models.cleanup());

  test('reach onnxruntime: a bad one fails at load with its message, a valid one scores as before', async () => {
    const model = await models.get({ family: 'encoder' });
    const pair: [string, string] = ['what is ai', 'artificial intelligence'];
    const plain = new FlagReranker(model.dir);
    const tuned = new FlagReranker(model.dir, {
      sessionOptions: { graphOptimizationLevel: 'basic', extra: { session: { intra_op: { allow_spinning: '0' } } } },
    });
    const broken = new FlagReranker(model.dir, { sessionOptions: { graphOptimizationLevel: 'warp-speed' } });
    try {
      expect(Math.abs((await tuned.computeScore(pair)) - (await plain.computeScore(pair)))).toBeLessThan(1e-5);
      await expect(broken.ready()).rejects.toThrow(/cannot load .* on cpu: .*warp-speed/);
    } finally {
      await Promise.all([plain.close(), tuned.close(), broken.close()]);
    }
    expect(() => new FlagReranker(model.dir, { sessionOptions: 'fast' as unknown as Record<string, unknown> })).toThrow(
      /^sessionOptions: must be an object/,
    );
  });
});
