import { jobShardLimits, MIN_SHARD_PAIRS, planShards } from '@rerank/jobs';
import { makeDocuments } from '../support/data';

describe('sharding', () => {
  const docs = makeDocuments(2500, 3, 1, 80);
  const lengths = docs.map((d) => d.length);

  it('covers every pair exactly once, within the pair and character bounds', () => {
    const queries = [
      { text: 'q one', set: 0 },
      { text: 'a longer second query', set: 0 },
      { text: 'third', set: 0 },
    ];
    const shards = planShards(
      { queries, sets: [{ offset: 0, count: docs.length }], documentLengths: lengths },
      { maxPairs: 300, maxChars: 20000, minShards: 1 },
    );
    const seen = queries.map(() => new Uint8Array(docs.length));
    for (const s of shards) {
      expect(s.idx.length).toBeLessThanOrEqual(300);
      expect(s.chars).toBeLessThanOrEqual(20000);
      expect(s.chars).toBe(s.idx.reduce((n, i) => n + lengths[i] + queries[s.q].text.length, 0));
      for (const i of s.idx) seen[s.q][i]++;
    }
    for (const list of seen) expect(Array.from(list).every((n) => n === 1)).toBe(true);
    expect(shards.length).toBeGreaterThanOrEqual(Math.ceil((3 * docs.length) / 300));
  });

  it('groups documents of similar length (shards are length bands)', () => {
    const shards = planShards(
      { queries: [{ text: 'q', set: 0 }], sets: [{ offset: 0, count: docs.length }], documentLengths: lengths },
      { maxPairs: 100, maxChars: 1e9, minShards: 1 },
    );
    for (let k = 1; k < shards.length; k++) {
      const prevMax = Math.max(...shards[k - 1].idx.map((i) => lengths[i]));
      const min = Math.min(...shards[k].idx.map((i) => lengths[i]));
      expect(prevMax).toBeLessThanOrEqual(min);
    }
    // Padding waste (pad to the longest in a shard) is far below that of shards in input order.
    const waste = (groups: number[][]) =>
      groups.reduce((w, g) => w + g.length * Math.max(...g.map((i) => lengths[i])) - g.reduce((n, i) => n + lengths[i], 0), 0);
    const inOrder = Array.from({ length: shards.length }, (_, k) =>
      Array.from({ length: 100 }, (_, j) => k * 100 + j).filter((i) => i < docs.length),
    );
    expect(waste(shards.map((s) => s.idx))).toBeLessThan(waste(inOrder) / 10);
  });

  it('bounds shards by characters, a single over-long pair getting a shard of its own', () => {
    const lens = [10, 10, 10, 5000, 10, 10];
    const shards = planShards(
      { queries: [{ text: 'qq', set: 0 }], sets: [{ offset: 0, count: lens.length }], documentLengths: lens },
      { maxPairs: 100, maxChars: 30, minShards: 1 },
    );
    expect(shards.map((s) => s.idx)).toEqual([[0, 1], [2, 4], [5], [3]]);
  });

  it('uses each query its own document set (offsets into the flattened list)', () => {
    const lens = [5, 1, 3, 7, 2];
    const shards = planShards(
      {
        queries: [
          { text: 'a', set: 0 },
          { text: 'b', set: 1 },
        ],
        sets: [
          { offset: 0, count: 2 },
          { offset: 2, count: 3 },
        ],
        documentLengths: lens,
      },
      { maxPairs: 2, maxChars: 1e9, minShards: 1 },
    );
    expect(shards.map((s) => [s.q, s.idx])).toEqual([
      [0, [1, 0]],
      [1, [2, 0]],
      [1, [1]],
    ]);
  });

  it('cuts a small job into at least minShards shards of similar cost, so several workers share it evenly', () => {
    const input = { queries: [{ text: 'a query', set: 0 }], sets: [{ offset: 0, count: 2000 }], documentLengths: lengths.slice(0, 2000) };
    const total = lengths.slice(0, 2000).reduce((n, l) => n + l + 'a query'.length, 0);
    const limits = jobShardLimits(input, { maxPairs: 1000, maxChars: 1_000_000, minShards: 16 });
    expect(limits).toEqual({ maxPairs: 125, maxChars: Math.ceil(total / 16) });
    const shards = planShards(input, { maxPairs: 1000, maxChars: 1_000_000, minShards: 16 });
    expect(shards.length).toBeGreaterThanOrEqual(16);
    expect(shards.reduce((n, s) => n + s.idx.length, 0)).toBe(2000);
    expect(new Set(shards.flatMap((s) => s.idx)).size).toBe(2000);
    // No shard costs more than its share; only the leftovers of length bands are smaller.
    for (const s of shards) expect(s.chars).toBeLessThanOrEqual(limits.maxChars);
    // Without the minimum the same job makes 2 shards, one holding the 1,000 longest documents.
    expect(planShards(input, { maxPairs: 1000, maxChars: 1_000_000, minShards: 1 })).toHaveLength(2);
  });

  it('keeps shards of at least MIN_SHARD_PAIRS pairs, and leaves large jobs to the configured bounds', () => {
    const small = { queries: [{ text: 'q', set: 0 }], sets: [{ offset: 0, count: 70 }], documentLengths: new Array(70).fill(20) };
    expect(planShards(small, { maxPairs: 1000, maxChars: 1e9, minShards: 16 }).map((s) => s.idx.length)).toEqual([
      MIN_SHARD_PAIRS,
      MIN_SHARD_PAIRS,
      70 - 2 * MIN_SHARD_PAIRS,
    ]);
    const big = { queries: [{ text: 'q', set: 0 }], sets: [{ offset: 0, count: 2500 }], documentLengths: lengths };
    expect(jobShardLimits(big, { maxPairs: 100, maxChars: 1e9, minShards: 16 }).maxPairs).toBe(100);
  });
});
