import { type AnyReranker, AutoReranker, LayerWiseFlagLLMReranker, type PairScore, type PairScores } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { FAMILY_CLASSES, TestModels } from './support/models';

/** `score()` is pair-major for every family; `computeScore` keeps the reference's shapes over it. */
describe('score() (pair-major) against computeScore (reference-shaped)', () => {
  const models = new TestModels();
  const pairs = makeCorpus(11).pairs(24);
  const PAIR = pairs[0];
  afterAll(() => models.cleanup());

  const CLASSES = FAMILY_CLASSES;

  test.each(['encoder', 'llm', 'layerwise', 'lightweight'] as const)(
    '%s, one score per pair: score() equals computeScore for a list, one pair and no pairs',
    async (family) => {
      const model = await models.get({ family, ...(family === 'layerwise' ? { layers: 3 } : {}) });
      const r = models.track(new CLASSES[family](model.dir));
      const list = await r.score(pairs);
      expect(list).toHaveLength(pairs.length);
      for (const s of list) expect(typeof s).toBe('number');
      expect(list).toEqual(await r.computeScore(pairs));
      // One pair: a list of one, whose entry is computeScore's number.
      const one = await r.score(PAIR);
      expect(one).toEqual([await r.computeScore(PAIR)]);
      expect(typeof one[0]).toBe('number');
      expect(await r.score([PAIR])).toEqual(one);
      expect(one[0]).toBe(await r.computeScore(PAIR));
      expect(await r.score([])).toEqual([]);
      // Normalization applies to score() too.
      const normalized = await r.score(pairs, { normalize: true });
      expect(normalized).toEqual(list.map((s) => 1 / (1 + Math.exp(-(s as number)))));
    },
  );

  test.each(['layerwise', 'lightweight'] as const)(
    '%s, several cutoff layers: score() is computeScore transposed (a row per pair)',
    async (family) => {
      const model = await models.get({ family, ...(family === 'layerwise' ? { layers: 3 } : {}) });
      const layers = model.scoreLayers as number[];
      expect(layers.length).toBeGreaterThan(1);
      const r = models.track(new CLASSES[family](model.dir));
      const options = { cutoffLayers: layers };

      const rows = await r.score(pairs, options);
      expect(rows).toHaveLength(pairs.length);
      const perLayer = (await r.computeScore(pairs, options)) as number[][];
      expect(perLayer).toHaveLength(layers.length);
      for (const row of rows) expect(row).toHaveLength(layers.length);
      expect(rows).toEqual(pairs.map((_, i) => perLayer.map((layer) => layer[i])));
      // Each row's columns are the single-layer calls' scores of that pair, in cutoff order.
      for (let c = 0; c < layers.length; c++) {
        expect(rows.map((row) => (row as number[])[c])).toEqual(await r.computeScore(pairs, { cutoffLayers: [layers[c]] }));
      }

      // One pair: computeScore gives the row itself, score() a list holding it.
      const one = await r.score(PAIR, options);
      expect(one).toEqual([await r.computeScore(PAIR, options)]);
      expect(one[0]).toHaveLength(layers.length);

      // No pairs: computeScore keeps one (empty) list per layer; score() has no rows.
      expect(await r.computeScore([], options)).toEqual(layers.map(() => []));
      expect(await r.score([], options)).toEqual([]);
    },
  );

  test('any family through AutoReranker: score() is callable without casts and gives what the class gives', async () => {
    const model = await models.get({ family: 'layerwise', layers: 3 });
    const layers = model.scoreLayers as number[];
    const auto: AnyReranker = models.track(await AutoReranker.fromFinetuned(model.dir));
    // Typed as the job worker consumes it: one PairScore per pair, no cast.
    const rows: PairScores = await auto.score(pairs, { cutoffLayers: [layers[0], layers[2]] });
    const direct = models.track(new LayerWiseFlagLLMReranker(model.dir));
    expect(rows).toEqual(await direct.score(pairs, { cutoffLayers: [layers[0], layers[2]] }));
    const flat: PairScore[] = await auto.score(pairs);
    expect(flat).toEqual(await direct.computeScore(pairs));
  });
});
