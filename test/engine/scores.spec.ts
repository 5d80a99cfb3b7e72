import { FlagLLMReranker, FlagReranker, LayerWiseFlagLLMReranker, LightWeightFlagLLMReranker, RerankerArgumentError } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { releaseDirectSessions, runDirect } from './support/direct-run';
import { FAMILY_CLASSES, TestModels } from './support/models';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const PAIR: [string, string] = ['what is machine learning', 'machine learning is a subset of artificial intelligence'];

describe('scores', () => {
  const models = new TestModels();
  const pairs = makeCorpus(7).pairs(120);
  afterAll(async () => {
    await releaseDirectSessions();
    await models.cleanup();
  });

  describe('equal a direct runtime call on the same ids', () => {
    test('encoder (bert): the hand-checked ids through onnxruntime give exactly the engine score', async () => {
      const model = await models.get({ family: 'encoder' });
      const r = models.track(new FlagReranker(model.dir));
      const ids = [2, 5, 6, 7, 8, 3, 7, 8, 6, 9, 23, 12, 21, 22, 3];
      const typeIds = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
      const direct = await runDirect(model.files.model, [{ ids, typeIds }], { output: 'logits' });
      expect(await r.computeScore(PAIR)).toBe((direct.data as Float32Array)[0]);
    });

    test('llm: exactly the direct call on the ids; left-padded (as on GPUs, to a multiple of 8) within 1e-5', async () => {
      const model = await models.get({ family: 'llm' });
      const r = models.track(new FlagLLMReranker(model.dir));
      const [{ inputIds }] = await r.inspectInputs(PAIR);
      const score = await r.computeScore(PAIR);
      const unpadded = await runDirect(model.files.model, [{ ids: inputIds }], { output: 'scores' });
      expect(score).toBe((unpadded.data as Float32Array)[0]);
      const width = Math.ceil(inputIds.length / 8) * 8 + 8;
      const padded = await runDirect(model.files.model, [{ ids: inputIds }], { output: 'scores', width, side: 'left', padId: 0 });
      expect(Math.abs(score - (padded.data as Float32Array)[0])).toBeLessThan(1e-5);
    });

    test('layer-wise: each cutoff layer is its column of the scores output', async () => {
      const model = await models.get({ family: 'layerwise', layers: 3 });
      const r = models.track(new LayerWiseFlagLLMReranker(model.dir));
      const layers = model.scoreLayers as number[];
      expect(layers.length).toBeGreaterThan(1);
      const [{ inputIds }] = await r.inspectInputs(PAIR);
      const out = await runDirect(model.files.model, [{ ids: inputIds }], { output: 'scores' });
      const row = Array.from(out.data as Float32Array);
      expect(await r.computeScore(PAIR, { cutoffLayers: layers })).toEqual(row);
      expect(await r.computeScore(PAIR, { cutoffLayers: [layers[0]] })).toBe(row[0]);
      // Default: reranker.json default_cutoff_layers (the generator's: the last layer).
      expect(await r.computeScore(PAIR)).toBe(row[layers.indexOf((model.defaultCutoffLayers as number[])[0])]);
    });

    test('light-weight: right padding and the query/prompt lengths', async () => {
      const model = await models.get({ family: 'lightweight' });
      const r = models.track(new LightWeightFlagLLMReranker(model.dir));
      const [input] = await r.inspectInputs(PAIR);
      const out = await runDirect(
        model.files.model,
        [{ ids: input.inputIds, queryLength: input.queryLength, promptLength: input.promptLength }],
        { output: 'scores' },
      );
      const layers = model.scoreLayers as number[];
      const column = layers.indexOf((model.defaultCutoffLayers as number[])[0]);
      expect(await r.computeScore(PAIR)).toBe((out.data as Float32Array)[column]);
    });
  });

  describe('order and batching', () => {
    test.each(['encoder', 'llm', 'layerwise', 'lightweight'] as const)(
      '%s: input order kept whatever the batches and devices',
      async (family) => {
        const model = await models.get({ family });
        const r = models.track(new FAMILY_CLASSES[family](model.dir));
        const base = (await r.computeScore(pairs)) as number[];
        expect(base).toHaveLength(pairs.length);
        expect(new Set(base.map((x) => x.toFixed(6))).size).toBeGreaterThan(pairs.length * 0.9);
        // One pair at a time.
        for (const i of [0, 17, 63, 119]) expect(Math.abs(((await r.computeScore(pairs[i])) as number) - base[i])).toBeLessThan(1e-5);
        // Other batch shapes.
        for (const overrides of [{ batchSize: 1 }, { batchSize: 7 }, { maxBatchTokens: 64 }]) {
          const other = (await r.computeScore(pairs, overrides)) as number[];
          other.forEach((s, i) => expect(Math.abs(s - base[i])).toBeLessThan(1e-5));
        }
        // Reversed input, reversed output.
        const reversed = (await r.computeScore([...pairs].reverse())) as number[];
        reversed.reverse().forEach((s, i) => expect(Math.abs(s - base[i])).toBeLessThan(1e-5));
        // Two devices (two CPU sessions working in parallel).
        const two = models.track(new FAMILY_CLASSES[family](model.dir, { devices: ['cpu', 'cpu'] }));
        const split = (await two.computeScore(pairs)) as number[];
        split.forEach((s, i) => expect(Math.abs(s - base[i])).toBeLessThan(1e-5));
      },
    );

    test('a single pair gives a number, a list gives a list (even of one), an empty list nothing', async () => {
      const model = await models.get({ family: 'encoder' });
      const r = models.track(new FlagReranker(model.dir));
      expect(typeof (await r.computeScore(PAIR))).toBe('number');
      expect(await r.computeScore([PAIR])).toHaveLength(1);
      expect(await r.computeScore([])).toEqual([]);
    });
  });

  describe('normalize and per-call overrides', () => {
    test('normalize applies the sigmoid, in the constructor or per call', async () => {
      const model = await models.get({ family: 'encoder' });
      const raw = await models.track(new FlagReranker(model.dir)).computeScore(pairs.slice(0, 20));
      const normalized = await models.track(new FlagReranker(model.dir, { normalize: true })).computeScore(pairs.slice(0, 20));
      expect(normalized).toEqual(raw.map(sigmoid));
      const r = models.track(new FlagReranker(model.dir));
      expect(await r.computeScore(pairs.slice(0, 20), { normalize: true })).toEqual(raw.map(sigmoid));
      // An override lasts one call.
      expect(await r.computeScore(pairs.slice(0, 20))).toEqual(raw);
    });

    test('maxLength per call changes what is scored', async () => {
      const model = await models.get({ family: 'encoder' });
      const r = models.track(new FlagReranker(model.dir));
      const long: [string, string] = ['what is ai', 'machine learning is a subset of artificial intelligence '.repeat(20)];
      const full = await r.computeScore(long);
      const short = await r.computeScore(long, { maxLength: 16 });
      expect(short).not.toBe(full);
      const [input] = await r.inspectInputs(long, { maxLength: 16 });
      const direct = await runDirect(model.files.model, [{ ids: input.inputIds, typeIds: input.tokenTypeIds }], { output: 'logits' });
      expect(short).toBe((direct.data as Float32Array)[0]);
    });

    test('prompt per call (LLM)', async () => {
      const model = await models.get({ family: 'llm' });
      const r = models.track(new FlagLLMReranker(model.dir));
      const a = await r.computeScore(PAIR);
      const b = await r.computeScore(PAIR, { prompt: 'Does the passage answer the query?' });
      expect(b).not.toBe(a);
      expect(await r.computeScore(PAIR)).toBe(a);
    });

    test('several cutoff layers give one list per layer', async () => {
      const model = await models.get({ family: 'layerwise', layers: 3 });
      const r = models.track(new LayerWiseFlagLLMReranker(model.dir));
      const layers = model.scoreLayers as number[];
      const both = (await r.computeScore(pairs.slice(0, 10), { cutoffLayers: [layers[0], layers[1]] })) as number[][];
      expect(both).toHaveLength(2);
      expect(both[0]).toEqual(await r.computeScore(pairs.slice(0, 10), { cutoffLayers: [layers[0]] }));
      expect(both[1]).toEqual(await r.computeScore(pairs.slice(0, 10), { cutoffLayers: [layers[1]] }));
    });

    test('light-weight compression settings select the graph exported with them', async () => {
      const model = await models.get({ family: 'lightweight' });
      const r = models.track(new LightWeightFlagLLMReranker(model.dir));
      const one = (await r.computeScore(pairs.slice(0, 10))) as number[];
      const two = (await r.computeScore(pairs.slice(0, 10), { compressRatio: 2 })) as number[];
      expect(two).not.toEqual(one);
      const variant = model.files.variants.find((v) => v.compress_ratio === 2);
      expect(variant).toBeDefined();
      const [input] = await r.inspectInputs(pairs[0]);
      const out = await runDirect(
        (variant as { path: string }).path,
        [{ ids: input.inputIds, queryLength: input.queryLength, promptLength: input.promptLength }],
        { output: 'scores' },
      );
      const column = (model.scoreLayers as number[]).indexOf((model.defaultCutoffLayers as number[])[0]);
      expect(two[0]).toBe((out.data as Float32Array)[column]);
      await expect(r.computeScore(pairs[0], { compressRatio: 2, compressLayers: [99] })).rejects.toThrow(
        /compressLayers: no graph of this model .* it offers ratio 1/,
      );
      await expect(r.computeScore(pairs[0], { compressRatio: 3 })).rejects.toThrow(/compressRatio: must be 1, 2, 4 or 8, got 3/);
    });
  });

  describe('graph output variants', () => {
    test('an LLM graph with token logits [B, T, V] is pooled at the last real token by the engine', async () => {
      const pooled = await models.get({ family: 'llm', seed: 3 });
      const logits = await models.get({ family: 'llm', seed: 3, llmOutput: 'logits' });
      const a = await models.track(new FlagLLMReranker(pooled.dir)).computeScore(pairs.slice(0, 30));
      const b = await models.track(new FlagLLMReranker(logits.dir)).computeScore(pairs.slice(0, 30));
      b.forEach((s, i) => expect(Math.abs(s - a[i])).toBeLessThan(1e-5));
    });

    test('a float16 output is read as numbers (float16-rounded)', async () => {
      const f32 = await models.get({ family: 'encoder', seed: 5 });
      const f16 = await models.get({ family: 'encoder', seed: 5, outputDtype: 'float16' });
      const a = await models.track(new FlagReranker(f32.dir)).computeScore(pairs.slice(0, 30));
      const b = await models.track(new FlagReranker(f16.dir)).computeScore(pairs.slice(0, 30));
      b.forEach((s, i) => expect(Math.abs(s - a[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 2 ** -10 + 1e-7));
    });
  });

  test('pair errors name the item and what it should be', async () => {
    const model = await models.get({ family: 'encoder' });
    const r = models.track(new FlagReranker(model.dir));
    await expect(r.computeScore([PAIR, [] as unknown as [string, string]])).rejects.toThrow(
      /^pairs\[1\]: expected \[query, passage\] \(two strings\), got an empty list/,
    );
    await expect(r.computeScore([PAIR, ['q', 5] as unknown as [string, string]])).rejects.toThrow(
      /^pairs\[1\]\[1\]: the passage must be a string, got 5/,
    );
    await expect(r.computeScore([[null, 'p'] as unknown as [string, string]])).rejects.toThrow(
      /^pairs\[0\]\[0\]: the query must be a string, got null/,
    );
    await expect(r.computeScore(['only a query'] as unknown as [string, string])).rejects.toThrow(/^pair: expected \[query, passage\]/);
    await expect(r.computeScore('text' as unknown as [string, string])).rejects.toThrow(RerankerArgumentError);
  });
});
