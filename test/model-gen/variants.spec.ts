import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { float16BitsToFloat32, makeCorpus, makeTestModel, TestModelInfo } from '@rerank/model-gen';
import { decoderRow, encoderRow, feeds, loadTokenizer, maxAbsDiff, Row, runRows, signature, tempDir } from './helpers';

const root = tempDir('mg-variants');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A float16 tensor's values: onnxruntime-common gives a Float16Array where the platform has one (Node 24), else the raw bits. */
function halfValues(data: unknown): number[] {
  return data instanceof Uint16Array ? Array.from(data, float16BitsToFloat32) : Array.from(data as ArrayLike<number>);
}

function pairsFor(info: TestModelInfo, n: number, seed = 9): Row[] {
  const tok = loadTokenizer(info.dir);
  return makeCorpus(seed)
    .pairs(n)
    .map(([q, p]) => (info.family === 'encoder' ? encoderRow(tok, q, p) : decoderRow(tok, info, q, p)));
}

describe('lightweight: query/prompt lengths and compression variants', () => {
  let info: TestModelInfo;
  let rows: Row[];
  let base: number[][];
  let cr1: ort.InferenceSession;

  beforeAll(async () => {
    info = await makeTestModel({ family: 'lightweight', layers: 3, outDir: join(root, 'light') });
    rows = pairsFor(info, 6);
    cr1 = await ort.InferenceSession.create(info.files.model);
    base = await runRows(cr1, feeds(info, rows, 'right', 2));
  });

  it('uses query_lengths and prompt_lengths', async () => {
    const shifted = (dq: number, dp: number) =>
      rows.map((r) => ({ ...r, queryLength: r.queryLength! + dq, promptLength: r.promptLength! + dp }));
    const q = await runRows(cr1, feeds(info, shifted(3, 0), 'right', 2));
    const p = await runRows(cr1, feeds(info, shifted(0, 3), 'right', 2));
    expect(maxAbsDiff(q, base)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(p, base)).toBeGreaterThan(1e-3);
  });

  it('writes cr2/cr4/cr8 variants that score differently, each padding-independent', async () => {
    expect(info.files.variants.map((v) => v.compress_ratio)).toEqual([2, 4, 8]);
    expect(info.compressLayers).toEqual([1]);
    const seen: number[][][] = [base];
    for (const v of info.files.variants) {
      const s = await ort.InferenceSession.create(v.path);
      expect(signature(s)).toEqual(signature(cr1));
      const batch = await runRows(s, feeds(info, rows, 'right', 4));
      for (const other of seen) expect(maxAbsDiff(batch, other)).toBeGreaterThan(1e-3);
      seen.push(batch);
      const alone: number[][] = [];
      for (const r of rows) alone.push((await runRows(s, feeds(info, [r], 'right')))[0]);
      expect(maxAbsDiff(batch, alone)).toBeLessThan(1e-5);
    }
  });

  it('shares the weights with the main graph (same initializer bytes)', () => {
    // The variant differs only by compression nodes, so it is larger but contains the main graph's weights.
    const main = readFileSync(info.files.model);
    const cr2 = readFileSync(info.files.variants[0].path);
    expect(cr2.length).toBeGreaterThan(main.length);
    const probe = main.subarray(main.length / 2, main.length / 2 + 256);
    expect(cr2.includes(probe)).toBe(true);
  });
});

describe('fp16, float16 output and quantized variants', () => {
  it.each(['encoder', 'llm', 'layerwise', 'lightweight'] as const)('%s: all run on CPU and agree with fp32', async (family) => {
    const fp32 = await makeTestModel({ family, outDir: join(root, `${family}-fp32`), fp16: true, quantized: true, variantRatios: [] });
    const f16out = await makeTestModel({ family, outDir: join(root, `${family}-f16out`), outputDtype: 'float16', variantRatios: [] });
    const rows = pairsFor(fp32, 4);
    const side = family === 'llm' || family === 'layerwise' ? 'left' : 'right';
    const run = async (path: string, info = fp32) => {
      const s = await ort.InferenceSession.create(path);
      const out = await s.run(feeds(info, rows, side, 1));
      return { session: s, tensor: out[s.outputNames[0]] };
    };
    const ref = await run(fp32.files.model);
    const refData = Array.from(ref.tensor.data as Float32Array);

    // model_fp16.onnx: float16 weights and compute, float16 output.
    const half = await run(fp32.files.fp16!);
    expect(half.tensor.type).toBe('float16');
    expect(signature(half.session).inputs).toEqual(signature(ref.session).inputs);
    const halfData = halfValues(half.tensor.data);
    halfData.forEach((v, i) => expect(Math.abs(v - refData[i])).toBeLessThan(0.05));

    // outputDtype float16: the fp32 graph with a final Cast.
    const cast = await run(f16out.files.model, f16out);
    expect(cast.tensor.type).toBe('float16');
    halfValues(cast.tensor.data).forEach((v, i) => expect(Math.abs(v - refData[i])).toBeLessThan(Math.abs(refData[i]) * 1e-3 + 1e-3));

    // model_quantized.onnx: dynamic int8 MatMuls (per-batch activation scales, so only approximately equal).
    const q = await run(fp32.files.quantized!);
    expect(q.tensor.type).toBe('float32');
    Array.from(q.tensor.data as Float32Array).forEach((v, i) => expect(Math.abs(v - refData[i])).toBeLessThan(0.3));
  });
});

describe('llm with unpooled logits output', () => {
  it('outputs [batch, sequence, vocab] whose yes column at the last real token equals the scores graph', async () => {
    const scores = await makeTestModel({ family: 'llm', outDir: join(root, 'llm-scores') });
    const logits = await makeTestModel({ family: 'llm', llmOutput: 'logits', outDir: join(root, 'llm-logits') });
    expect(logits.outputName).toBe('logits');
    const s1 = await ort.InferenceSession.create(scores.files.model);
    const s2 = await ort.InferenceSession.create(logits.files.model);
    expect(signature(s2).outputs).toEqual(['logits:float32[batch,sequence,1000]']);
    const rows = pairsFor(scores, 4);
    for (const side of ['left', 'right'] as const) {
      const f = feeds(scores, rows, side, 2);
      const want = (await runRows(s1, f)).map((r) => r[0]);
      const out = (await s2.run(f)).logits;
      const [B, T, V] = out.dims;
      const data = out.data as Float32Array;
      const mask = f.attention_mask.data as BigInt64Array;
      for (let b = 0; b < B; b++) {
        let last = 0;
        for (let t = 0; t < T; t++) if (mask[b * T + t] === 1n) last = t;
        expect(Math.abs(data[(b * T + last) * V + scores.special.yes!] - want[b])).toBeLessThan(1e-5);
      }
    }
  });
});

describe('transformers.js', () => {
  it('runs the bert encoder in AutoModelForSequenceClassification with the same logits', async () => {
    const { AutoModelForSequenceClassification, AutoTokenizer, env } = await import('@huggingface/transformers');
    const info = await makeTestModel({ family: 'encoder', outDir: join(root, 'tjs', 'bert') });
    env.localModelPath = join(root, 'tjs');
    env.allowRemoteModels = false;
    const tokenizer = await AutoTokenizer.from_pretrained('bert');
    const model = await AutoModelForSequenceClassification.from_pretrained('bert');
    const pairs = makeCorpus(4).pairs(5);
    const inputs = tokenizer(
      pairs.map((p) => p[0]),
      { text_pair: pairs.map((p) => p[1]), padding: true },
    );
    const got = Array.from((await model(inputs)).logits.data as Float32Array);
    const session = await ort.InferenceSession.create(info.files.model);
    const want = (await runRows(session, feeds(info, pairsFor(info, 5, 4), 'right'))).map((r) => r[0]);
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-5));
    await model.dispose();
  });
});

describe('encoder: fused transformer blocks (onnxruntime contrib operators)', () => {
  it.each(['bert', 'xlmr'] as const)('%s: the fused graph gives the unfused scores, padding-independent', async (encoderStyle) => {
    const plain = await makeTestModel({ family: 'encoder', encoderStyle, seed: 5, outDir: join(root, `plain-${encoderStyle}`) });
    const fused = await makeTestModel({
      family: 'encoder',
      encoderStyle,
      seed: 5,
      fused: true,
      outDir: join(root, `fused-${encoderStyle}`),
    });
    const graph = readFileSync(fused.files.model).toString('latin1');
    for (const op of ['Attention', 'SkipLayerNormalization', 'BiasGelu', 'com.microsoft']) expect(graph).toContain(op);
    expect(signature(await ort.InferenceSession.create(fused.files.model))).toEqual(
      signature(await ort.InferenceSession.create(plain.files.model)),
    );
    const rows = pairsFor(plain, 8);
    const a = await runRows(await ort.InferenceSession.create(plain.files.model), feeds(plain, rows, 'right', 3));
    const fusedSession = await ort.InferenceSession.create(fused.files.model);
    const b = await runRows(fusedSession, feeds(fused, rows, 'right', 3));
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    const alone = await Promise.all(rows.map(async (r) => (await runRows(fusedSession, feeds(fused, [r], 'right')))[0]));
    expect(maxAbsDiff(b, alone)).toBeLessThan(1e-5);
  });

  it('is refused for decoders', async () => {
    await expect(makeTestModel({ family: 'llm', fused: true, outDir: join(root, 'fused-llm') })).rejects.toThrow(/only the encoder family/);
  });
});
