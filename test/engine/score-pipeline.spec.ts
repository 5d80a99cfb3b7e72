import { OutOfMemoryError } from '@rerank/engine';
import { buildBatchTensors } from '../../libs/engine/src/batching/tensors';
import { DeviceRunError, type DeviceSession, type Feed, type RunOutput } from '../../libs/engine/src/runtime/device-session';
import { runScoreTask, type ScoreTask } from '../../libs/engine/src/runtime/score-pipeline';

/**
 * The scheduler alone, over a stand-in device whose "model" scores a row by the sum of its ids and
 * which runs out of memory above a token budget — the way a GPU does, which this machine has none of.
 */
function fakeDevice(name: string, memoryTokens: number, log: { rows: number; width: number; device: string }[]): DeviceSession {
  return {
    name,
    async run(_path: string, feeds: Record<string, Feed>): Promise<RunOutput> {
      const [rows, width] = feeds.input_ids.dims;
      await new Promise((r) => setTimeout(r, 1));
      if (rows * width > memoryTokens) throw new DeviceRunError(`${name}: Failed to allocate memory for ${rows}x${width}`, true);
      log.push({ rows, width, device: name });
      const data = new Float32Array(rows);
      for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) data[r] += Number(feeds.input_ids.data[r * width + j]);
      return { data, dims: [rows, 1] };
    },
  } as unknown as DeviceSession;
}

function task(lengths: number[], batchSize: number, maxBatchTokens: number): ScoreTask {
  return {
    count: lengths.length,
    columns: 1,
    limits: { batchSize, maxBatchTokens, padMultiple: 1 },
    // Pair i is `length` tokens of id i + 1: its score is (i + 1) * length.
    encode: (start, end) => lengths.slice(start, end).map((n, k) => ({ ids: new Int32Array(n).fill(start + k + 1) })),
    tensors: (pairs, width) => buildBatchTensors(pairs, width, 0, 'right', { tokenTypeIds: false, positionIds: false, lengths: false }),
    graphFor: () => ({ path: 'model.onnx', output: 'logits' }),
    read: (out, _t, rows) => Float64Array.from(out.data.subarray(0, rows)),
  };
}

describe('score pipeline', () => {
  const lengths = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 37) % 50));
  const expected = lengths.map((n, i) => (i + 1) * n);

  test('scores every pair once, in input order, on several devices at once', async () => {
    const log: { rows: number; width: number; device: string }[] = [];
    const scores = await runScoreTask(task(lengths, 16, 512), [fakeDevice('a', 1e9, log), fakeDevice('b', 1e9, log)]);
    expect(Array.from(scores)).toEqual(expected);
    expect(log.reduce((n, b) => n + b.rows, 0)).toBe(1000);
    expect(new Set(log.map((b) => b.device))).toEqual(new Set(['a', 'b']));
    expect(log.every((b) => b.rows <= 16 && b.rows * b.width <= 512)).toBe(true);
  });

  test('out of memory: bounds shrink to 3/4 and the batch is split, nothing lost or repeated', async () => {
    const log: { rows: number; width: number; device: string }[] = [];
    const scores = await runScoreTask(task(lengths, 64, 4096), [fakeDevice('gpu', 700, log)]);
    expect(Array.from(scores)).toEqual(expected);
    expect(log.reduce((n, b) => n + b.rows, 0)).toBe(1000);
    expect(log.every((b) => b.rows * b.width <= 700)).toBe(true);
  });

  test('a single pair that does not fit is an OutOfMemoryError', async () => {
    await expect(runScoreTask(task([10, 300, 20], 8, 4096), [fakeDevice('gpu', 200, [])])).rejects.toThrow(OutOfMemoryError);
  });

  test('other device errors fail the call with their message', async () => {
    const broken = {
      name: 'x',
      run: async () => Promise.reject(new DeviceRunError('x: invalid input', false)),
    } as unknown as DeviceSession;
    await expect(runScoreTask(task(lengths, 8, 4096), [broken])).rejects.toThrow('x: invalid input');
  });
});
