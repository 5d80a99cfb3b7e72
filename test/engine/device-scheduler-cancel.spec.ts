/**
 * Cancelling a scoring call (its schedule's AbortSignal): the pairs not yet in a device run are
 * dropped, a posted run of the cancelled call alone is skipped by a device that has not started it,
 * a run shared with a live call still runs for that call, and the call rejects with
 * ScoringCancelledError. First on stand-in devices that run their runs one at a time (as a device
 * thread does), then on the real device thread with a generated model.
 */
import { ScoringCancelledError } from '@rerank/engine';
import { buildBatchTensors } from '../../libs/engine/src/batching/tensors';
import { DeviceScheduler } from '../../libs/engine/src/runtime/device-scheduler';
import { DeviceSession, type Feed, type RunOutput } from '../../libs/engine/src/runtime/device-session';
import type { ScoreTask } from '../../libs/engine/src/runtime/score-pipeline';
import { makeDocuments } from '../support/data';
import { referenceEngine, removeTestModels, testEncoderDir } from '../support/model';

/**
 * A device that computes one run at a time, in the order posted, checking the skip flag when it
 * starts one (as device-thread.js does); a row scores the sum of its ids. `computed` gets each row's id.
 */
function serialDevice(computed: (ids: number[]) => void): DeviceSession {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name: 'serial',
    run(_path: string, feeds: Record<string, Feed>, _output: string, skip?: Int32Array): Promise<RunOutput | null> {
      const turn = queue.then(async () => {
        await new Promise((r) => setImmediate(r));
        if (skip && Atomics.load(skip, 0) === 1) return null;
        const [rows, width] = feeds.input_ids.dims;
        const data = new Float32Array(rows);
        const ids: number[] = [];
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < width; j++) data[r] += Number(feeds.input_ids.data[r * width + j]);
          ids.push(Number(feeds.input_ids.data[r * width]));
        }
        computed(ids);
        return { data, dims: [rows, 1] };
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
  } as unknown as DeviceSession;
}

/** Pair i of a call is `length` tokens of id `base + i`. */
function task(count: number, base: number, o: { mergeKey?: string; signal?: AbortSignal; batchSize?: number } = {}): ScoreTask {
  return {
    count,
    columns: 1,
    limits: { batchSize: o.batchSize ?? 4, maxBatchTokens: 1e6, padMultiple: 1 },
    ...(o.mergeKey !== undefined ? { mergeKey: o.mergeKey } : {}),
    ...(o.signal ? { schedule: { signal: o.signal } } : {}),
    encode: (start, end) => Array.from({ length: end - start }, (_, k) => ({ ids: new Int32Array(10).fill(base + start + k) })),
    tensors: (pairs, width) => buildBatchTensors(pairs, width, 0, 'right', { tokenTypeIds: false, positionIds: false, lengths: false }),
    graphFor: () => ({ path: 'model.onnx', output: 'logits' }),
    read: (out, _t, rows) => Float64Array.from(out.data.subarray(0, rows)),
  };
}

describe('DeviceScheduler: cancel', () => {
  test('a call cancelled while its first run computes: the run posted behind it is skipped, no other pair of it runs', async () => {
    const computedRuns: number[][] = [];
    const abort = new AbortController();
    const device = serialDevice((ids) => {
      computedRuns.push(ids);
      // The cancel arrives while the device computes the call's first run (its second is posted behind it).
      if (computedRuns.length === 1) abort.abort('the client went away');
    });
    const s = new DeviceScheduler([device]);
    const call = s.score(task(40, 1, { signal: abort.signal }));
    await expect(call).rejects.toThrow(new ScoringCancelledError('the client went away'));
    await new Promise((r) => setTimeout(r, 20));
    // 40 pairs in runs of 4: only the run computing when the cancel came (pairs 1..4) ran.
    expect(computedRuns).toEqual([[1, 2, 3, 4]]);
    // The device is free for the next call.
    expect(Array.from(await s.score(task(3, 500)))).toEqual([5000, 5010, 5020]);
  });

  test('a posted run shared with a live call still runs for it; the live call gets exact scores; nothing of the cancelled call runs after it', async () => {
    const runs: number[][] = [];
    const abort = new AbortController();
    const device = serialDevice((ids) => {
      runs.push(ids);
      // Cancel as the device computes the cancelled call's first run (the filler's two runs went first).
      if (runs.length === 3) abort.abort();
    });
    const s = new DeviceScheduler([device]);
    // Two runs of an unrelated call fill the device's two lanes while the calls under test arrive.
    const filler = s.score(task(8, 5000, { mergeKey: 'f' }));
    const cancelled = s.score(task(40, 1, { mergeKey: 'k', signal: abort.signal }));
    const live = s.score(task(3, 1000, { mergeKey: 'k', batchSize: 8 }));
    await expect(cancelled).rejects.toThrow(ScoringCancelledError);
    expect(Array.from(await live)).toEqual([10000, 10010, 10020]);
    await filler;
    // The cancelled call's first run (computing at the cancel), then the live call's run topped up with
    // five of its pairs (posted behind it, so it runs, for the live call); none of its other 31 pairs.
    expect(runs.slice(2)).toEqual([
      [1, 2, 3, 4],
      [1000, 1001, 1002, 5, 6, 7, 8, 9],
    ]);
  });

  test('a signal aborted before the call rejects at once and runs nothing', async () => {
    const computed: number[][] = [];
    const s = new DeviceScheduler([serialDevice((ids) => computed.push(ids))]);
    await expect(s.score(task(8, 1, { signal: AbortSignal.abort() }))).rejects.toThrow(ScoringCancelledError);
    expect(computed).toEqual([]);
  });
});

describe('cancel on the real device thread', () => {
  afterAll(() => removeTestModels());

  /** Replaces DeviceSession.run for `body`: `hook` sees each run as it is posted and each answer. */
  async function watchingRuns(
    hook: { posted?: (n: number) => void; answered: (out: RunOutput | null) => void },
    body: () => Promise<void>,
  ): Promise<void> {
    const original = (Object.getOwnPropertyDescriptor(DeviceSession.prototype, 'run') as PropertyDescriptor).value as DeviceSession['run'];
    let posted = 0;
    DeviceSession.prototype.run = async function (
      this: DeviceSession,
      path: string,
      feeds: Record<string, Feed>,
      output: string,
      skip?: Int32Array,
    ) {
      hook.posted?.(++posted);
      const out = await original.call(this, path, feeds, output, skip as Int32Array);
      hook.answered(out);
      return out;
    } as DeviceSession['run'];
    try {
      await body();
    } finally {
      DeviceSession.prototype.run = original;
    }
  }

  test("a reranker's score() cancelled as its second batch is posted: the thread skips what it had not started; the call rejects", async () => {
    const engine = await referenceEngine(await testEncoderDir());
    try {
      const docs = makeDocuments(2000, 5, 4, 30);
      const abort = new AbortController();
      let computed = 0;
      let skipped = 0;
      await watchingRuns(
        {
          // The cancel lands as the second batch is posted, while the thread computes the first.
          posted: (n) => n === 2 && abort.abort(),
          answered: (out) => (out === null ? skipped++ : computed++),
        },
        async () => {
          const call = engine.score(
            docs.map((d) => ['alpha river', d] as [string, string]),
            { batchSize: 16 },
            { signal: abort.signal },
          );
          await expect(call).rejects.toThrow(ScoringCancelledError);
          await new Promise((r) => setTimeout(r, 200));
        },
      );
      // 2000 pairs are 125 batches: two were posted; the one behind was skipped (and the first too when the
      // thread had not started it yet), nothing else ran.
      expect(computed + skipped).toBe(2);
      expect(skipped).toBeGreaterThanOrEqual(1);
      // The engine scores the next call normally.
      const pairs = docs.slice(0, 5).map((d) => ['alpha river', d] as [string, string]);
      expect(await engine.score(pairs)).toHaveLength(5);
    } finally {
      await engine.close();
    }
  });

  test('cancelled as its first batch answers: the device runs at most the batch its thread started right after it', async () => {
    const engine = await referenceEngine(await testEncoderDir());
    try {
      const docs = makeDocuments(2000, 6, 4, 30);
      const abort = new AbortController();
      let answered = 0;
      await watchingRuns({ answered: () => ++answered === 1 && abort.abort() }, async () => {
        const call = engine.score(
          docs.map((d) => ['alpha river', d] as [string, string]),
          { batchSize: 16 },
          { signal: abort.signal },
        );
        await expect(call).rejects.toThrow(ScoringCancelledError);
        await new Promise((r) => setTimeout(r, 200));
      });
      // The batch whose answer cancelled, and at most the one in the second lane.
      expect(answered).toBeLessThanOrEqual(2);
    } finally {
      await engine.close();
    }
  });
});
