import { formatResults, mergeShardResults, rankAll, topK } from '@rerank/jobs';

describe('merging shard scores', () => {
  it('puts shard scores back in document order, per query', () => {
    const merged = mergeShardResults(
      [
        { q: 1, idx: [1], s: [0.5] },
        { q: 0, idx: [2, 0], s: [3, 1] },
        { q: 0, idx: [1], s: [2] },
        { q: 1, idx: [0], s: [-1] },
      ],
      [3, 2],
    );
    expect(merged).toEqual([
      [1, 2, 3],
      [-1, 0.5],
    ]);
  });

  it('refuses a pair scored twice or not at all', () => {
    expect(() =>
      mergeShardResults(
        [
          { q: 0, idx: [0, 1], s: [1, 2] },
          { q: 0, idx: [1], s: [2] },
        ],
        [2],
      ),
    ).toThrow('query 0, document 1 was scored twice');
    expect(() => mergeShardResults([{ q: 0, idx: [0], s: [1] }], [2])).toThrow('query 0, document 1 has no score');
    expect(() => mergeShardResults([{ q: 0, idx: [5], s: [1] }], [2])).toThrow('names document 5 of 2');
    expect(() => mergeShardResults([{ q: 0, idx: [0, 1], s: [1] }], [2])).toThrow('2 documents and 1 scores');
  });

  it('ranks best first, ties to the lower index, NaN last', () => {
    expect(topK([0.1, 0.9, 0.5, 0.9, NaN, 0.5], 10)).toEqual([
      { index: 1, score: 0.9 },
      { index: 3, score: 0.9 },
      { index: 2, score: 0.5 },
      { index: 5, score: 0.5 },
      { index: 0, score: 0.1 },
      { index: 4, score: NaN },
    ]);
    expect(topK([1, 2, 3], 2).map((r) => r.index)).toEqual([2, 1]);
    expect(topK([5, 5, 5, 5], 3).map((r) => r.index)).toEqual([0, 1, 2]);
  });

  it('ranks several layers by the last one and reports them all', () => {
    const ranked = topK(
      [
        [9, 0.1],
        [0, 0.7],
        [5, 0.7],
      ],
      2,
    );
    expect(ranked).toEqual([
      { index: 1, score: [0, 0.7] },
      { index: 2, score: [5, 0.7] },
    ]);
  });

  it('formats per query top-k with ids and documents', () => {
    const layout = {
      queries: [
        { id: 'qa', text: 'a', set: 0 },
        { id: null, text: 'b', set: 1 },
      ],
      sets: [
        { offset: 0, count: 2 },
        { offset: 2, count: 2 },
      ],
    };
    const plan = rankAll(
      layout,
      [
        [0.2, 0.4],
        [
          [1, 3],
          [2, 1],
        ],
      ],
      1,
    );
    expect(plan.flatIndices).toEqual([1, 2]);
    const out = formatResults(layout, plan, ['d0', null, 'x', 'y'], ['text one', 'text two']);
    expect(out).toEqual([
      { query_index: 0, query_id: 'qa', query: 'a', top_k: [{ index: 1, score: 0.4, document: { text: 'text one' } }] },
      { query_index: 1, query: 'b', top_k: [{ index: 0, id: 'x', score: 3, scores: [1, 3], document: { text: 'text two' } }] },
    ]);
  });
});
