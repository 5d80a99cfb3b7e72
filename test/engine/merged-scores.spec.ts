import { type BatchStats, FlagReranker, LayerWiseFlagLLMReranker } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { FAMILY_CLASSES, TestModels } from './support/models';

/**
 * Concurrent calls on one model share device runs (the model's DeviceScheduler): each call's
 * scores must be exactly those of its pairs scored alone, whatever rows of other calls rode along.
 */
describe('calls merged into shared device runs, real models', () => {
  const models = new TestModels();
  afterAll(() => models.cleanup());

  const CLASSES = FAMILY_CLASSES;
  const corpus = makeCorpus(21);
  // 37 rows = batches of 16, 16, 5: the short last batch has room for the other calls' pairs.
  const big = corpus.pairs(37);
  const small = corpus.pairs(11).map(([q, p]) => [`${q} too`, p] as const);

  test.each(['encoder', 'llm', 'layerwise', 'lightweight'] as const)(
    '%s: each call of a merged run gets exactly its scores alone; runs hold rows of several calls',
    async (family) => {
      const model = await models.get({ family, ...(family === 'layerwise' ? { layers: 3 } : {}) });
      const stats: BatchStats[] = [];
      const r = models.track(
        new CLASSES[family](model.dir, { devices: ['cpu'], intraOpNumThreads: 1, batchSize: 16, onBatch: (b) => stats.push(b) }),
      );
      // Several cutoff layers where the family has them: merged rows keep all their columns.
      const overrides = model.scoreLayers ? { cutoffLayers: model.scoreLayers } : {};
      // Left-padded families merge only pairs planned at the same width: calls whose batches match
      // big's last one (the same pairs reversed, and its five shortest pairs), besides one that does not.
      const lengths = (await r.inspectInputs(big, overrides)).map((p) => p.inputIds.length);
      const shortest = big.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
      const calls = [big, [...big].reverse(), shortest.slice(32).map((i) => big[i]), small];
      const schedules = [{}, { tenant: 'b' }, { tenant: 'c', class: 'interactive' as const }, { tenant: 'c', group: 'j' }];
      const alone = [];
      for (const pairs of calls) alone.push(await r.score(pairs, overrides));
      stats.length = 0;
      const together = await Promise.all(calls.map((pairs, k) => r.score(pairs, overrides, schedules[k])));
      expect(together).toEqual(alone);
      // Every pair reported once, and some run carried rows of more than one call.
      expect(stats.reduce((n, b) => n + b.rows, 0)).toBe(calls.reduce((n, c) => n + c.length, 0));
      expect(stats.some((b) => b.batchRows > b.rows)).toBe(true);
      expect(stats.every((b) => b.batchRows <= 16)).toBe(true);
    },
  );

  test('calls that read different columns never share a run (layer-wise, different cutoff layers)', async () => {
    const model = await models.get({ family: 'layerwise', layers: 3 });
    const layers = model.scoreLayers as number[];
    const stats: BatchStats[] = [];
    const r = models.track(
      new LayerWiseFlagLLMReranker(model.dir, { devices: ['cpu'], intraOpNumThreads: 1, batchSize: 16, onBatch: (b) => stats.push(b) }),
    );
    const alone = [await r.score(big, { cutoffLayers: [layers[0]] }), await r.score(small, { cutoffLayers: [layers[1]] })];
    stats.length = 0;
    const together = await Promise.all([r.score(big, { cutoffLayers: [layers[0]] }), r.score(small, { cutoffLayers: [layers[1]] })]);
    expect(together).toEqual(alone);
    expect(stats.every((b) => b.batchRows === b.rows)).toBe(true);
  });

  test('under bulk load, an interactive call queued after a bulk one of the same size ends first; every score equals the call alone', async () => {
    const model = await models.get({ family: 'encoder' });
    const r = models.track(new FlagReranker(model.dir, { devices: ['cpu'], intraOpNumThreads: 1, batchSize: 8 }));
    const bulk = [0, 1, 2, 3].map((k) => corpus.pairs(300).map(([q, p]) => [`${q} ${k}`, p] as const));
    const six = corpus.pairs(6).map(([q, p]) => [`${q} now`, p] as const);
    const bulkAlone = await Promise.all(bulk.map((b) => r.score(b)));
    const sixAlone = await r.score(six);
    const order: string[] = [];
    const track = <T>(name: string, p: Promise<T>) => p.then((s) => (order.push(name), s));
    const bulkRuns = bulk.map((b, k) => track(`bulk ${k}`, r.score(b, undefined, { class: 'batch' })));
    // Let the bulk calls fill the scheduler, then a small bulk call, then the same pairs as an interactive one.
    await new Promise((res) => setTimeout(res, 50));
    const smallBulk = track('small bulk', r.score(six));
    const smallInteractive = track('small interactive', r.score(six, undefined, { class: 'interactive' }));
    const [mixed, sb, si] = await Promise.all([Promise.all(bulkRuns), smallBulk, smallInteractive]);
    expect(order[0]).toBe('small interactive');
    expect(order.indexOf('small interactive')).toBeLessThan(order.indexOf('small bulk'));
    expect(mixed).toEqual(bulkAlone);
    expect(sb).toEqual(sixAlone);
    expect(si).toEqual(sixAlone);
  });
});
