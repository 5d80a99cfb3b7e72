import { OutOfMemoryError, type ScoreSchedule } from '@rerank/engine';
import { buildBatchTensors } from '../../libs/engine/src/batching/tensors';
import { DeviceScheduler, type RunRecord, type SchedulerOptions } from '../../libs/engine/src/runtime/device-scheduler';
import { DeviceRunError, type DeviceSession, type Feed, type RunOutput } from '../../libs/engine/src/runtime/device-session';
import type { ScoreTask } from '../../libs/engine/src/runtime/score-pipeline';

/**
 * The scheduler over stand-in devices whose "model" scores a row by the sum of its ids (pads are 0),
 * finishing each run on the next turn of the event loop: the order of runs is decided by the
 * scheduler alone, recorded by its onRun hook, and asserted without clocks.
 */
function fakeDevice(
  name: string,
  opts: { memoryTokens?: number; broken?: (ids: BigInt64Array) => boolean; clock?: { ms: number } } = {},
): DeviceSession {
  return {
    name,
    async run(_path: string, feeds: Record<string, Feed>): Promise<RunOutput> {
      const [rows, width] = feeds.input_ids.dims;
      await new Promise((r) => setImmediate(r));
      // A fake clock, if given: each run takes 1 ms per padded token.
      if (opts.clock) opts.clock.ms += rows * width;
      if (rows * width > (opts.memoryTokens ?? Infinity))
        throw new DeviceRunError(`${name}: Failed to allocate memory for ${rows}x${width}`, true);
      if (opts.broken?.(feeds.input_ids.data)) throw new DeviceRunError(`${name}: invalid input`, false);
      const data = new Float32Array(rows);
      for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) data[r] += Number(feeds.input_ids.data[r * width + j]);
      return { data, dims: [rows, 1] };
    },
  } as unknown as DeviceSession;
}

interface TaskOptions {
  batchSize?: number;
  maxBatchTokens?: number;
  mergeKey?: string;
  exactWidth?: boolean;
  schedule?: ScoreSchedule;
}

/** Pair i of a call is `lengths[i]` tokens of id `base + i`: its score is (base + i) × length. */
function task(label: string, lengths: number[], base: number, o: TaskOptions = {}): ScoreTask {
  return {
    label,
    count: lengths.length,
    columns: 1,
    limits: { batchSize: o.batchSize ?? 4, maxBatchTokens: o.maxBatchTokens ?? 1e6, padMultiple: 1 },
    ...(o.mergeKey !== undefined ? { mergeKey: o.mergeKey } : {}),
    ...(o.exactWidth ? { exactWidth: true } : {}),
    ...(o.schedule ? { schedule: o.schedule } : {}),
    encode: (start, end) => lengths.slice(start, end).map((n, k) => ({ ids: new Int32Array(n).fill(base + start + k) })),
    tensors: (pairs, width) => buildBatchTensors(pairs, width, 0, 'right', { tokenTypeIds: false, positionIds: false, lengths: false }),
    graphFor: () => ({ path: 'model.onnx', output: 'logits' }),
    read: (out, _t, rows) => Float64Array.from(out.data.subarray(0, rows)),
  };
}

const expected = (lengths: number[], base: number) => lengths.map((n, i) => (base + i) * n);
const same = (count: number, length = 10) => Array.from({ length: count }, () => length);

/**
 * A scheduler on one fake device and the runs it dispatches. A newly active tenant's credit is one
 * batch, as a group's (tenantCreditMs 0), unless `options` say otherwise: the time-based credit has
 * its own tests, on a fake clock.
 */
function scheduler(devices = [fakeDevice('d')], options: Omit<SchedulerOptions, 'onRun'> = { tenantCreditMs: 0 }) {
  const runs: RunRecord[] = [];
  const hooks: { onRun?: (run: RunRecord) => void } = {};
  const s = new DeviceScheduler(devices, { ...options, onRun: (run) => (runs.push(run), hooks.onRun?.(run)) });
  return { s, runs, hooks };
}
const leads = (runs: RunRecord[]) => runs.map((r) => r.parts[0].label);
/** Two runs of an unrelated call that keep the device's two lanes busy while the calls under test arrive. */
const occupy = (s: DeviceScheduler) => s.score(task('f', same(8, 1), 5000, { mergeKey: 'filler' }));
const parts = (runs: RunRecord[]) => runs.map((r) => [r.width, r.parts.map((p) => `${p.label}×${p.rows}`).join(' ')]);

describe('DeviceScheduler: order', () => {
  test('an interactive call issued while a big call runs starts within the next two runs, and all its runs go first', async () => {
    const { s, runs, hooks } = scheduler();
    const bigLengths = same(200);
    const big = s.score(task('big', bigLengths, 1));
    let submittedAt = -1;
    let interactive: Promise<Float64Array> | undefined;
    hooks.onRun = () => {
      if (runs.length !== 10) return;
      submittedAt = runs.length;
      interactive = s.score(task('now', same(12), 1000, { schedule: { class: 'interactive' } }));
    };
    expect(Array.from(await big)).toEqual(expected(bigLengths, 1));
    expect(Array.from(await (interactive as Promise<Float64Array>))).toEqual(expected(same(12), 1000));
    const first = leads(runs).indexOf('now');
    expect(first - submittedAt).toBeLessThanOrEqual(2);
    // Its three batches run back to back: the class is strict.
    expect(leads(runs).slice(first, first + 3)).toEqual(['now', 'now', 'now']);
    expect(runs.length).toBe(50 + 3);
  });

  test('without tenants or groups, concurrent calls (each its own group) take turns run by run', async () => {
    const { s, runs } = scheduler();
    await Promise.all([s.score(task('a', same(40), 1)), s.score(task('b', same(40), 100)), s.score(task('c', same(40), 200))]);
    // a was alone for its first two runs; b and c start one batch behind it, then the three take turns.
    expect(leads(runs).slice(0, 11)).toEqual(['a', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });
});

describe('DeviceScheduler: fairness by virtual device time', () => {
  test('tenant A with two groups gets the same total share as tenant B with one; A splits its share between its groups', async () => {
    const { s, runs } = scheduler();
    const calls = [
      s.score(task('a1', same(200), 1, { schedule: { tenant: 'A', group: 'job 1' } })),
      s.score(task('a2', same(200), 1000, { schedule: { tenant: 'A', group: 'job 2' } })),
      s.score(task('b', same(200), 2000, { schedule: { tenant: 'B', group: 'job 3' } })),
    ];
    await Promise.all(calls);
    // After a1's first two runs (alone then), 40 runs with all three pending: 20 each tenant, 10 per group of A.
    const window = leads(runs).slice(2, 42);
    const count = (l: string) => window.filter((x) => x === l).length;
    expect([count('a1') + count('a2'), count('b')]).toEqual([20, 20]);
    expect([count('a1'), count('a2')]).toEqual([10, 10]);
    // Turns alternate between the tenants run by run.
    for (let i = 0; i + 1 < window.length; i += 2) expect([window[i], window[i + 1]].filter((l) => l === 'b')).toHaveLength(1);
  });

  test('the cost is padded tokens, not runs: a tenant with batches twice as wide gets half the runs', async () => {
    const { s, runs } = scheduler();
    await Promise.all([
      s.score(task('wide', same(200, 20), 1, { schedule: { tenant: 'A' } })),
      s.score(task('narrow', same(200, 10), 1000, { schedule: { tenant: 'B' } })),
    ]);
    const window = leads(runs).slice(2, 32);
    expect([window.filter((l) => l === 'wide').length, window.filter((l) => l === 'narrow').length]).toEqual([10, 20]);
  });

  test('a group of weight 2 gets twice the rows of a group of weight 1 in the same tenant while both are pending', async () => {
    const { s, runs } = scheduler();
    await Promise.all([
      s.score(task('heavy', same(200), 1, { schedule: { tenant: 'A', group: 'g1', weight: 2 } })),
      s.score(task('light', same(200), 1000, { schedule: { tenant: 'A', group: 'g2', weight: 1 } })),
    ]);
    // Once light's starting credit (one batch) is spent, the turns repeat heavy, heavy, light.
    const window = runs.slice(5, 35);
    const rows = (l: string) => window.filter((r) => r.parts[0].label === l).reduce((n, r) => n + r.parts[0].rows, 0);
    expect([rows('heavy'), rows('light')]).toEqual([80, 40]);
  });

  test('no starvation: a big call keeps half the device while a stream of small calls of another tenant arrives', async () => {
    const { s, runs, hooks } = scheduler();
    const bigLengths = same(400);
    const big = s.score(task('big', bigLengths, 1, { schedule: { tenant: 'A', group: 'big job' } }));
    const small: Promise<Float64Array>[] = [];
    // A new one-batch call of tenant B (each its own group) at every run, for 60 runs.
    hooks.onRun = () => {
      if (runs.length <= 60) small.push(s.score(task('small', same(4), 10_000 + small.length * 10, { schedule: { tenant: 'B' } })));
    };
    expect(Array.from(await big)).toEqual(expected(bigLengths, 1));
    const results = await Promise.all(small);
    results.forEach((r, k) => expect(Array.from(r)).toEqual(expected(same(4), 10_000 + k * 10)));
    const window = leads(runs).slice(0, 60);
    expect(window.filter((l) => l === 'big').length).toBeGreaterThanOrEqual(29);
    expect(window.filter((l) => l === 'small').length).toBeGreaterThanOrEqual(29);
  });

  test('a tenant that becomes active runs ahead for tenantCreditMs of device time at the measured rate, then the tenants share', async () => {
    const clock = { ms: 0 };
    const sequence = async (tenantCreditMs: number) => {
      const { s, runs, hooks } = scheduler([fakeDevice('d', { clock })], { tenantCreditMs, now: () => clock.ms });
      const big = s.score(task('big', same(200), 1, { schedule: { tenant: 'A' } }));
      let small: Promise<Float64Array> | undefined;
      hooks.onRun = () => {
        if (runs.length === 10) small = s.score(task('small', same(40), 1000, { schedule: { tenant: 'B' } }));
      };
      expect(Array.from(await big)).toEqual(expected(same(200), 1));
      expect(Array.from(await (small as Promise<Float64Array>))).toEqual(expected(same(40), 1000));
      return leads(runs).slice(10, 24).join(' ');
    };
    // Runs of 4 rows × 10 tokens take 40 ms on the fake clock: 1 token per ms. A credit of 200 ms is
    // 200 tokens: B's five runs come next (A's two in flight aside), then turns.
    expect(await sequence(200)).toBe('small small small small small big small big small big small big small big');
    // Without a time credit, one batch: B's first run, then turns.
    expect(await sequence(0)).toBe('small big small big small big small big small big small big small big');
  });

  test('a tenant that was busy alone does not make a newcomer wait for its history', async () => {
    const { s, runs } = scheduler();
    await s.score(task('early', same(200), 1, { schedule: { tenant: 'A' } }));
    const before = runs.length;
    await Promise.all([
      s.score(task('again', same(40), 1, { schedule: { tenant: 'A' } })),
      s.score(task('new', same(40), 1000, { schedule: { tenant: 'B' } })),
    ]);
    // A's 50 earlier runs give it no debt: the two alternate from the start.
    const window = leads(runs).slice(before + 2, before + 12);
    expect(window.filter((l) => l === 'new').length).toBe(5);
  });

  test('schedule values are checked', async () => {
    const { s } = scheduler();
    await expect(s.score(task('x', same(4), 1, { schedule: { weight: 0 } }))).rejects.toThrow(
      'weight: must be a number above 0 (default 1), got 0',
    );
    await expect(s.score(task('x', same(4), 1, { schedule: { class: 'urgent' as 'batch' } }))).rejects.toThrow(
      'class: must be "interactive" or "batch" (default "batch"), got "urgent"',
    );
  });
});

describe('DeviceScheduler: merging calls into shared runs', () => {
  test("a call's short batch is topped up with another call's pairs; each call gets its own scores", async () => {
    const { s, runs } = scheduler();
    const filler = occupy(s);
    // a: 6 pairs = batches of 4 and 2; b: 3 pairs of the same width, up to 5 rows a run.
    const a = s.score(task('a', same(6), 1, { mergeKey: 'k' }));
    const b = s.score(task('b', same(3), 100, { mergeKey: 'k', batchSize: 5 }));
    expect(Array.from(await a)).toEqual(expected(same(6), 1));
    expect(Array.from(await b)).toEqual(expected(same(3), 100));
    await filler;
    // a's full batch first; then b (charged nothing yet) leads, and a's last two pairs ride along.
    expect(parts(runs)).toEqual([
      [1, 'f×4'],
      [1, 'f×4'],
      [10, 'a×4'],
      [10, 'b×3 a×2'],
    ]);
  });

  test('calls with different merge keys (or none) never share a run', async () => {
    const { s, runs } = scheduler();
    await Promise.all([
      occupy(s),
      s.score(task('a', same(6), 1, { mergeKey: 'k' })),
      s.score(task('b', same(3), 100, { mergeKey: 'other' })),
      s.score(task('c', same(3), 200)),
    ]);
    expect(runs.every((r) => r.parts.length === 1)).toBe(true);
  });

  test('pairs that do not widen the run go first; wider ones join while the token budget allows', async () => {
    const { s, runs } = scheduler();
    const filler = occupy(s);
    // Budget 8 rows, 80 padded tokens. a: one batch of two 10-token pairs; b: one batch of 12, 9 and 8 tokens;
    // c: two 13-token pairs.
    const a = s.score(task('a', [10, 10], 1, { mergeKey: 'k', batchSize: 8, maxBatchTokens: 80 }));
    const b = s.score(task('b', [12, 9, 8], 100, { mergeKey: 'k', batchSize: 8, maxBatchTokens: 80 }));
    const c = s.score(task('c', [13, 13], 200, { mergeKey: 'k', batchSize: 8, maxBatchTokens: 80 }));
    expect(Array.from(await a)).toEqual(expected([10, 10], 1));
    expect(Array.from(await b)).toEqual(expected([12, 9, 8], 100));
    expect(Array.from(await c)).toEqual(expected([13, 13], 200));
    await filler;
    // b leads (width 12): a's 10-token pairs join without widening (5 × 12 = 60 tokens); then one of c's 13-token
    // pairs widens the run to 6 × 13 = 78, under 80; the second (7 × 13 = 91) waits for a run of its own.
    expect(parts(runs).slice(2)).toEqual([
      [13, 'b×3 a×2 c×1'],
      [13, 'c×1'],
    ]);
  });

  test('width-exact calls take only pairs planned at the run width, and a raided batch keeps its width', async () => {
    const { s, runs } = scheduler();
    const filler = occupy(s);
    // a: one batch [10, 10] (width 10); b: batches [12, 10, 10, 9] (width 12) and [9] (width 9); c: [10] (width 10).
    const a = s.score(task('a', [10, 10], 1, { mergeKey: 'k', exactWidth: true }));
    const b = s.score(task('b', [12, 10, 10, 9, 9], 100, { mergeKey: 'k', exactWidth: true }));
    const c = s.score(task('c', [10], 200, { mergeKey: 'k', exactWidth: true }));
    expect(Array.from(await a)).toEqual(expected([10, 10], 1));
    expect(Array.from(await b)).toEqual(expected([12, 10, 10, 9, 9], 100));
    expect(Array.from(await c)).toEqual(expected([10], 200));
    await filler;
    // b leads (its first batch is the larger credit); its run at 12 takes no pair planned at 10. Only c's pair
    // joins a's run at 10; b's last pair keeps the width 9 it was planned at.
    expect(parts(runs).slice(2)).toEqual([
      [12, 'b×4'],
      [10, 'a×2 c×1'],
      [9, 'b×1'],
    ]);
  });

  test('an error in a merged run fails every call in it; calls outside it finish', async () => {
    const { s, runs } = scheduler([fakeDevice('d', { broken: (ids) => ids.includes(BigInt(102)) })]);
    const filler = occupy(s);
    const a = s.score(task('a', same(6), 1, { mergeKey: 'k' }));
    const b = s.score(task('b', same(3), 100, { mergeKey: 'k' }));
    const c = s.score(task('c', same(3), 200));
    await expect(b).rejects.toThrow('d: invalid input');
    await expect(a).rejects.toThrow('d: invalid input');
    expect(Array.from(await c)).toEqual(expected(same(3), 200));
    await filler;
    // b's run (with b's pair 102) carried a's last pairs.
    expect(parts(runs).slice(2, 4)).toEqual([
      [10, 'a×4'],
      [10, 'b×3 a×1'],
    ]);
  });

  test('out of memory in a merged run: the chosen call shrinks, every pair comes back and is scored once', async () => {
    const { s, runs } = scheduler([fakeDevice('gpu', { memoryTokens: 35 })]);
    const filler = occupy(s);
    const a = s.score(task('a', same(5), 1, { mergeKey: 'k' }));
    const b = s.score(task('b', same(3), 100, { mergeKey: 'k', batchSize: 8 }));
    expect(Array.from(await a)).toEqual(expected(same(5), 1));
    expect(Array.from(await b)).toEqual(expected(same(3), 100));
    await filler;
    // Runs over 35 padded tokens fail and shrink their chosen call's bounds; their rows go back to their own
    // calls. The runs that fit hold every pair exactly once.
    const fitted = runs.filter((r) => r.parts.reduce((n, p) => n + p.rows, 0) * r.width <= 35).slice(2);
    expect(fitted.reduce((n, r) => n + r.parts.reduce((m, p) => m + p.rows, 0), 0)).toBe(8);
    await expect(s.score(task('x', [40], 1))).rejects.toThrow(OutOfMemoryError);
  });

  test('several devices share the calls, two runs in flight on each', async () => {
    const { s, runs } = scheduler([fakeDevice('a'), fakeDevice('b')]);
    const lengths = same(100);
    expect(Array.from(await s.score(task('x', lengths, 1, { schedule: { class: 'batch' } })))).toEqual(expected(lengths, 1));
    expect(runs.slice(0, 4).map((r) => r.device)).toEqual(['a', 'b', 'a', 'b']);
    expect(new Set(runs.map((r) => r.device))).toEqual(new Set(['a', 'b']));
  });
});
