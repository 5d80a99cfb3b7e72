import { FlagReranker, PRIORITY_DEFAULT, PRIORITY_INTERACTIVE } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { RunGate } from '../../libs/engine/src/runtime/run-gate';
import { TestModels } from './support/models';

/** A run that ends when the test says so, recording when it started. */
function controlled(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { run: async () => void (log.push(name), await done), finish };
}

describe('RunGate: batches of concurrent calls on one device', () => {
  test('at most `slots` run at once; waiting runs start by priority, then in arrival order', async () => {
    const gate = new RunGate(2);
    const log: string[] = [];
    const runs = Object.fromEntries(['a1', 'a2', 'b1', 'a3', 'b2', 's1', 's2'].map((n) => [n, controlled(log, n)]));
    const started = [
      gate.run(1, runs.a1.run),
      gate.run(1, runs.a2.run),
      gate.run(1, runs.b1.run),
      gate.run(1, runs.a3.run),
      gate.run(1, runs.b2.run),
      gate.run(0, runs.s1.run),
      gate.run(0, runs.s2.run),
    ];
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a1', 'a2']);
    expect(gate.queued).toBe(5);
    // The two urgent runs go first as slots free, then the rest in the order they came.
    for (const [n, expected] of [
      ['a1', ['a1', 'a2', 's1']],
      ['a2', ['a1', 'a2', 's1', 's2']],
      ['s1', ['a1', 'a2', 's1', 's2', 'b1']],
      ['s2', ['a1', 'a2', 's1', 's2', 'b1', 'a3']],
      ['b1', ['a1', 'a2', 's1', 's2', 'b1', 'a3', 'b2']],
    ] as const) {
      runs[n].finish();
      await new Promise((r) => setImmediate(r));
      expect(log).toEqual(expected);
    }
    for (const r of Object.values(runs)) r.finish();
    await Promise.all(started);
    expect(gate.queued).toBe(0);
  });

  test('a failed run frees its slot', async () => {
    const gate = new RunGate(1);
    await expect(gate.run(1, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(1, async () => 7)).resolves.toBe(7);
  });

  test('slots must be a positive integer', () => {
    expect(() => new RunGate(0)).toThrow('RunGate: slots must be a positive integer, got 0');
  });
});

describe('a real model: an interactive call overtakes a bulk call on the same device, scores unchanged', () => {
  const models = new TestModels();
  afterAll(() => models.cleanup());

  test('under bulk load, an interactive call queued after a bulk one of the same size ends first; every score equals the call alone', async () => {
    const model = await models.get({ family: 'encoder' });
    const r = models.track(new FlagReranker(model.dir, { devices: ['cpu'], intraOpNumThreads: 1, batchSize: 8 }));
    const corpus = makeCorpus(5);
    const bulk = [0, 1, 2, 3].map((k) => corpus.pairs(300).map(([q, p]) => [`${q} ${k}`, p] as const));
    const small = corpus.pairs(6).map(([q, p]) => [`${q} now`, p] as const);
    const bulkAlone = await Promise.all(bulk.map((b) => r.score(b)));
    const smallAlone = await r.score(small);
    const order: string[] = [];
    const track = <T>(name: string, p: Promise<T>) => p.then((s) => (order.push(name), s));
    const bulkRuns = bulk.map((b, k) => track(`bulk ${k}`, r.score(b, undefined, { priority: PRIORITY_DEFAULT })));
    // Let the bulk calls fill the device's queue, then a small bulk call, then the same pairs as an interactive one.
    await new Promise((res) => setTimeout(res, 50));
    const smallBulk = track('small bulk', r.score(small));
    const smallInteractive = track('small interactive', r.score(small, undefined, { priority: PRIORITY_INTERACTIVE }));
    const [mixed, sb, si] = await Promise.all([Promise.all(bulkRuns), smallBulk, smallInteractive]);
    // Batches wait at the device's gate, not in its thread's queue: the interactive call jumps the line.
    expect(order[0]).toBe('small interactive');
    expect(order.indexOf('small interactive')).toBeLessThan(order.indexOf('small bulk'));
    expect(mixed).toEqual(bulkAlone);
    expect(sb).toEqual(smallAlone);
    expect(si).toEqual(smallAlone);
  });
});
