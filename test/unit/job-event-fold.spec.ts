/**
 * The fold of a job's event log (libs/jobs/src/events/job-event-fold.ts): shard by shard, in any
 * order and with shards run twice, each query's best k ends equal to the aggregator's top-k over
 * all its scores; on the way it only improves; what changed after a step is exactly what a watcher
 * at that step has not seen.
 */
import { byRank, JobEventFold, type JobLogEntry, type PairScore, type Ranked, shardTopK, topK } from '@rerank/jobs';

/** A seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Job {
  scores: PairScore[][];
  entries: JobLogEntry[];
}

/**
 * Queries of `sizes` documents with scores that tie often (a few values), as JSON carries them
 * (NaN: null), cut into shards of up to `shardSize` consecutive documents; each shard's entry holds
 * its own top-k as the worker writes it (shardTopK). Some shards appear twice (a re-run).
 */
function job(seed: number, sizes: number[], k: number, shardSize: number, layers: boolean): Job {
  const rnd = random(seed);
  const value = (): number | null => (rnd() < 0.05 ? null : Math.round(rnd() * 8) / 4 - 1);
  const scores = sizes.map((n) => Array.from({ length: n }, () => (layers ? [value(), value()] : value()) as PairScore));
  const shards: { q: number; idx: number[] }[] = [];
  scores.forEach((list, q) => {
    const order = Array.from({ length: list.length }, (_, i) => i).sort(() => rnd() - 0.5);
    for (let i = 0; i < order.length; i += shardSize) shards.push({ q, idx: order.slice(i, i + shardSize) });
  });
  const entries: JobLogEntry[] = [];
  const emit = (n: number) => {
    const { q, idx } = shards[n];
    const s = idx.map((d) => scores[q][d]);
    const top: Ranked[] = shardTopK(idx, s, k).map((i) => ({ index: idx[i], score: s[i] }));
    entries.push({
      id: `${1000 + entries.length}-0`,
      at: 1000 + entries.length * 10,
      kind: 'shard',
      shard: { n, q, pairs: idx.length, top },
    });
  };
  for (const n of Array.from({ length: shards.length }, (_, i) => i).sort(() => rnd() - 0.5)) {
    emit(n);
    if (rnd() < 0.15) emit(n);
  }
  return { scores, entries };
}

const indices = (r: readonly Ranked[]) => r.map((x) => x.index);

it.each([
  [1, [40, 7, 1], 5, 4, false],
  [2, [64], 10, 8, false],
  [3, [30, 30], 3, 1, true],
  [4, [12, 50], 60, 16, false],
])('seed %i: ends at the top-k over all scores, only improving on the way', (seed, sizes, k, shardSize, layers) => {
  const { scores, entries } = job(seed, sizes, k, shardSize, layers);
  const fold = new JobEventFold(sizes.length, k);
  const seen: Ranked[][] = sizes.map(() => []);
  for (const e of entries) {
    const before = fold.step;
    fold.apply(e);
    expect(fold.step).toBe(before + 1);
    expect(fold.lastId).toBe(e.id);
    for (let q = 0; q < sizes.length; q++) {
      const now = fold.top(q);
      const changed = fold.changedSince(before).includes(q);
      expect(changed).toBe(indices(now).join() !== indices(seen[q]).join());
      // Only improves: an entry leaves a full top-k only for better ones (it ranks below all of them).
      for (const old of seen[q]) {
        if (now.some((r) => r.index === old.index)) continue;
        expect(now).toHaveLength(k);
        for (const r of now) expect(byRank(r, old)).toBeLessThan(0);
      }
      expect(now.length).toBeGreaterThanOrEqual(seen[q].length);
      seen[q] = [...now];
    }
  }
  scores.forEach((list, q) => expect(fold.top(q)).toEqual(topK(list, k)));
  const pairs = sizes.reduce((a, b) => a + b, 0);
  expect(fold.progress().shardsDone).toBe(new Set(entries.map((e) => (e.kind === 'shard' ? e.shard.n : -1))).size);
  expect(fold.progress().pairsDone).toBe(pairs);
});

it('tells a watcher at any step what changed after it; a resumed id maps to its step', () => {
  const { entries } = job(5, [20, 20], 4, 2, false);
  const fold = new JobEventFold(2, 4);
  const history: string[][] = [];
  for (const e of entries) {
    fold.apply(e);
    history.push([0, 1].map((q) => indices(fold.top(q)).join()));
  }
  for (let step = 0; step <= entries.length; step++) {
    const then = step === 0 ? ['', ''] : history[step - 1];
    const now = history[history.length - 1];
    expect(fold.changedSince(step)).toEqual([0, 1].filter((q) => then[q] !== now[q]));
    if (step > 0) expect(fold.stepOf(entries[step - 1].id)).toBe(step);
  }
  expect(fold.stepOf('0-0')).toBe(0);
  // An id past the last entry: the watcher has everything.
  expect(fold.stepOf('99999-0')).toBe(entries.length);
  expect(fold.progressedSince(entries.length)).toBe(false);
  expect(fold.progressedSince(0)).toBe(true);
});

it('progress: shards once each, pairs per second after the first shard; the end stops the fold', () => {
  const fold = new JobEventFold(1, 2);
  const shard = (n: number, at: number, pairs: number): JobLogEntry => ({
    id: `${at}-0`,
    at,
    kind: 'shard',
    shard: { n, q: 0, pairs, top: [{ index: n, score: n }] },
  });
  fold.apply(shard(0, 1000, 100));
  expect(fold.progress()).toEqual({ shardsDone: 1, pairsDone: 100, pairsPerSecond: null });
  fold.apply(shard(1, 1500, 50));
  fold.apply(shard(1, 1600, 50));
  fold.apply(shard(2, 2000, 150));
  // 200 pairs after the first shard, in 1 s.
  expect(fold.progress()).toEqual({ shardsDone: 3, pairsDone: 300, pairsPerSecond: 200 });
  expect(fold.progressedSince(2)).toBe(true);
  expect(fold.progressedSince(3)).toBe(true);
  fold.apply({ id: '2100-0', at: 2100, kind: 'end', status: 'completed' });
  expect(fold.ended).toBe('completed');
  fold.apply(shard(3, 2200, 10));
  expect(fold.step).toBe(5);
  expect(fold.progress().shardsDone).toBe(3);
  expect(indices(fold.top(0))).toEqual([2, 1]);
});
