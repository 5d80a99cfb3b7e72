import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeCorpus, makeTestModel, PRESETS } from '@rerank/model-gen';
import { encoderRow, feeds, loadTokenizer, runRows, signature, std, tempDir } from './helpers';

const root = tempDir('mg-presets');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('presets', () => {
  it('define the documented shapes', () => {
    expect(PRESETS.minilm).toEqual({ layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocabSize: 30522, maxPositions: 512 });
    expect(PRESETS.base).toMatchObject({ layers: 12, hidden: 768, vocabSize: 30522 });
    expect(PRESETS.decoder).toMatchObject({ layers: 4, hidden: 1024, heads: 16, vocabSize: 32000 });
  });

  it('minilm: generates, loads and scores realistic pairs', async () => {
    const info = await makeTestModel({ family: 'encoder', preset: 'minilm', outDir: join(root, 'minilm') });
    const size = statSync(info.files.model).size;
    expect(size).toBe(info.modelBytes);
    console.log(
      `minilm preset: generated in ${info.elapsedMs} ms, onnx/model.onnx ${(size / 2 ** 20).toFixed(1)} MiB, ` +
        `${(info.parameterCount / 1e6).toFixed(2)} M parameters`,
    );
    expect(info.parameterCount).toBeGreaterThan(22e6);
    const t0 = Date.now();
    const session = await ort.InferenceSession.create(info.files.model);
    const loadMs = Date.now() - t0;
    expect(signature(session).outputs).toEqual(['logits:float32[batch,1]']);
    const tok = loadTokenizer(info.dir);
    const rows = makeCorpus(1, { lengths: 'realistic' })
      .pairs(16)
      .map(([q, p]) => encoderRow(tok, q, p));
    const t1 = Date.now();
    const scores = (await runRows(session, feeds(info, rows, 'right'))).map((r) => r[0]);
    console.log(`minilm preset: session created in ${loadMs} ms, 16 realistic pairs scored in ${Date.now() - t1} ms`);
    expect(scores.every(Number.isFinite)).toBe(true);
    expect(std(scores)).toBeGreaterThan(0.2);
  });
});
