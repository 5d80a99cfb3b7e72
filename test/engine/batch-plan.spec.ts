import { paddingEfficiency, planBatches } from '@rerank/engine';

describe('batch planning', () => {
  test('sorts longest first and respects the row bound', () => {
    const lengths = [5, 9, 1, 7, 3];
    const batches = planBatches(lengths, { batchSize: 2, maxBatchTokens: 1000, padMultiple: 1 });
    expect(batches).toEqual([[1, 3], [0, 4], [2]]);
  });

  test('cuts batches at the padded-token budget', () => {
    // Longest first: 10, 10, 6, 6, 6, 2. Budget 24: [10,10] = 20 tokens, a third row would be 30.
    const lengths = [6, 10, 2, 6, 10, 6];
    const batches = planBatches(lengths, { batchSize: 128, maxBatchTokens: 24, padMultiple: 1 });
    expect(batches).toEqual([
      [1, 4],
      [0, 3, 5, 2],
    ]);
  });

  test('pads to a multiple when asked (the LLM families use 8)', () => {
    // 9 pads to 16: two rows of 16 = 32 fit a 32 budget, a third would not.
    const batches = planBatches([9, 9, 9], { batchSize: 128, maxBatchTokens: 32, padMultiple: 8 });
    expect(batches).toEqual([[0, 1], [2]]);
  });

  test('an item over the budget still gets a batch of its own', () => {
    expect(planBatches([100, 3], { batchSize: 8, maxBatchTokens: 10, padMultiple: 1 })).toEqual([[0], [1]]);
  });

  test('equal lengths keep input order (stable)', () => {
    expect(planBatches([4, 4, 4, 4], { batchSize: 3, maxBatchTokens: 100, padMultiple: 1 })).toEqual([[0, 1, 2], [3]]);
  });

  test('padding efficiency is real tokens over tokens computed', () => {
    const lengths = [4, 2, 4, 1];
    expect(
      paddingEfficiency(
        lengths,
        [
          [0, 1],
          [2, 3],
        ],
        1,
      ),
    ).toBeCloseTo(11 / 16, 12);
    expect(paddingEfficiency(lengths, [[0], [1], [2], [3]], 1)).toBe(1);
    expect(paddingEfficiency([3], [[0]], 8)).toBeCloseTo(3 / 8, 12);
  });
});
