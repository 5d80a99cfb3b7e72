/**
 * One scheduler per loaded model (its set of devices), shared by every concurrent scoring call.
 *
 * Calls push their planned batches here (tokenized in chunks, each chunk sorted by length and cut
 * under `batchSize` rows and `maxBatchTokens` padded tokens, see score-pipeline.ts). Each device
 * keeps LANES_PER_DEVICE runs in flight; when one ends, the scheduler picks what runs next:
 *
 * 1. Class first: interactive work (synchronous requests) ahead of batch work (job shards) while
 *    it has pending batches. Classes are strict.
 * 2. Within a class, the tenant with the least virtual time, then within it the group (a job; a
 *    call without a group is a group of its own; a call without a tenant belongs to SHARED_TENANT)
 *    with the least virtual time, then that group's earliest call. A run charges each call
 *    in it its own padded tokens (rows × width): to its tenant's virtual time (tenants weigh the
 *    same) and to its group's divided by the group's `weight`. A tenant or group that becomes
 *    active starts at max(its own virtual time, the least among the other active ones − a credit)
 *    (fair-share.ts). A group's credit is one batch (the padded tokens of the call's next batch); a
 *    tenant's is what the devices run in `tenantCreditMs` (TENANT_CREDIT_MS, at the rate measured
 *    over recent runs), at least one batch. So a tenant back from idle, say a small job arriving
 *    beside another tenant's big one, runs alone for up to that long before the two share; its
 *    lag is bounded (it cannot bank more idle time than that), a newcomer waits for no history,
 *    and a big job never starves: it only shares.
 * 3. Merging: the chosen call's next batch is topped up, while it stays under the chosen call's
 *    `batchSize` and `maxBatchTokens`, with pending pairs of other calls that can share a device
 *    run (the same `mergeKey`: graph, output, padding, score columns and reading), taken in the
 *    order of step 2, first pairs that do not widen the batch, then pairs that do. Scores go back
 *    to each call's own positions; each call resolves when its own pairs are scored.
 *    Left-padded calls (`exactWidth`) run every pair at the width it was planned at alone: shifting
 *    a row's real tokens changes the order the kernels sum in, so only pairs planned at the run's
 *    width join it, and a raided batch keeps its width. Scores are then bit-identical to the call
 *    alone; right padding only appends zeros, which leaves them identical at any width.
 *
 * A run that fails fails every call with rows in it. A run out of memory shrinks the chosen call's
 * bounds to 3/4 (as the reference), and every call's rows go back to the front of its own queue.
 *
 * A call whose `schedule.signal` aborts is cancelled at once: its pairs not yet in a run are
 * dropped, it stops tokenizing, and it rejects with ScoringCancelledError. A run already posted to
 * a device thread whose every call was cancelled is skipped if the thread has not started it (a
 * flag on shared memory, read by the thread before it runs), so a cancelled call costs each device
 * at most the run it is computing; a run shared with live calls runs, for them.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type BatchLimits, chunkRanges, paddedLength, planBatches } from '../batching/batch-plan';
import { ModelRunError, OutOfMemoryError, RerankerArgumentError, ScoringCancelledError } from '../errors';
import type { EncodedPair } from '../sequences/encoded-pair';
import { type BatchStats, SHARED_TENANT, type WorkClass } from '../types';
import { DeviceRunError, type DeviceSession, type RunOutput } from './device-session';
import { FairLevel, FairMember } from './fair-share';
import type { ScoreTask } from './score-pipeline';

/** The order of the classes (step 1 of the header). */
const CLASS_RANK: Record<WorkClass, number> = { interactive: 0, batch: 1 };

/** Runs posted to a device thread at once: one computing, one ready behind it, so the thread never waits on the main thread. */
export const LANES_PER_DEVICE = 2;

/** One device run as the scheduler dispatched it (the test hook's record). */
export interface RunRecord {
  device: string;
  /** Padded length of the run's rows. */
  width: number;
  /** Each call's rows in the run, the chosen call first. */
  parts: { call: number; label?: string; rows: number }[];
}

/**
 * The one fairness credit: device time a tenant back from idle may run ahead of the others before
 * they share (the header's step 2). The job system's queue sizes its credit with it too
 * (ARCHITECTURE.md, "The fairness model"): a job of a few seconds runs ahead whole.
 */
export const TENANT_CREDIT_MS = 4000;

export interface SchedulerOptions {
  /** Told about each run as it is dispatched (tests: the order and merging of runs). */
  onRun?: (run: RunRecord) => void;
  /** A newly active tenant's credit in device time (default TENANT_CREDIT_MS; 0: one batch). */
  tenantCreditMs?: number;
  /** Milliseconds, for the device rate (default performance.now). */
  now?: () => number;
}

/** A device's measured rate: padded tokens per millisecond of its own run time (smoothed). */
class DeviceRate {
  tokensPerMs = 0;
  private lastEnd = -Infinity;

  /** A run of `tokens` dispatched at `start` ended at `end`; runs of one device end in order. */
  record(tokens: number, start: number, end: number): void {
    // Its own time: from when the device finished the run before it, or from its dispatch.
    const ms = end - Math.max(start, this.lastEnd);
    this.lastEnd = end;
    if (ms <= 0) return;
    const rate = tokens / ms;
    this.tokensPerMs = this.tokensPerMs === 0 ? rate : 0.8 * this.tokensPerMs + 0.2 * rate;
  }
}

interface PendingPair {
  /** The pair's index in its call. */
  index: number;
  pair: EncodedPair;
  /** Padded length of the batch it was planned into: the width it runs at alone. */
  width: number;
}

class TenantMember extends FairMember {
  readonly groups = new FairLevel((key) => new FairMember(key));
}

class Call {
  readonly scores: Float64Array;
  readonly limits: BatchLimits;
  /** Planned batches not yet dispatched. */
  readonly batches: PendingPair[][] = [];
  remaining: number;
  producing = true;
  failed = false;
  /** Counted as active in its group (has pending batches). */
  ready = false;
  /** Stops listening to the call's AbortSignal (once it settled). */
  detach: (() => void) | undefined;

  constructor(
    readonly id: number,
    readonly task: ScoreTask,
    readonly workClass: WorkClass,
    readonly tenant: TenantMember,
    readonly group: FairMember,
    readonly settle: { resolve: (s: Float64Array) => void; reject: (e: Error) => void },
  ) {
    this.scores = new Float64Array(task.count * task.columns);
    this.limits = { ...task.limits };
    this.remaining = task.count;
  }

  get hasWork(): boolean {
    return !this.failed && this.batches.length > 0;
  }
}

interface Run {
  lead: Call;
  parts: Map<Call, PendingPair[]>;
  width: number;
  /** Set to 1 (shared with the device thread) when every call in the run was cancelled: the thread skips it unless started. */
  skip: Int32Array;
}

export class DeviceScheduler {
  private readonly free = new Map<DeviceSession, number>();
  private readonly rates = new Map<DeviceSession, DeviceRate>();
  private readonly now: () => number;
  private readonly tenantCreditMs: number;
  private readonly classes = new Map<WorkClass, FairLevel<TenantMember>>();
  private readonly calls = new Set<Call>();
  /** Runs posted to a device and not answered yet. */
  private readonly posted = new Set<Run>();
  private nextId = 0;

  constructor(
    private readonly devices: readonly DeviceSession[],
    private readonly hooks: SchedulerOptions = {},
  ) {
    for (const d of devices) {
      this.free.set(d, LANES_PER_DEVICE);
      this.rates.set(d, new DeviceRate());
    }
    this.now = hooks.now ?? (() => performance.now());
    this.tenantCreditMs = hooks.tenantCreditMs ?? TENANT_CREDIT_MS;
  }

  /** Scores a call's pairs on the shared devices; `columns` scores per pair, in input order. */
  async score(task: ScoreTask): Promise<Float64Array> {
    const { workClass, tenant, group, weight } = checkSchedule(task);
    const signal = task.schedule?.signal;
    if (signal?.aborted) throw new ScoringCancelledError(signal.reason);
    if (task.count === 0) return new Float64Array(0);
    if (this.devices.length === 0) throw new Error('DeviceScheduler: no devices to run on');
    const id = this.nextId++;
    let cls = this.classes.get(workClass);
    if (!cls) {
      cls = new FairLevel((key) => new TenantMember(key));
      this.classes.set(workClass, cls);
    }
    const t = cls.member(tenant);
    const g = t.groups.member(group ?? `\0call ${id}`);
    g.weight = weight;
    t.live++;
    g.live++;
    return new Promise<Float64Array>((resolve, reject) => {
      const call = new Call(id, task, workClass, t, g, { resolve, reject });
      this.calls.add(call);
      if (signal) {
        const onAbort = () => this.cancel(call, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        call.detach = () => signal.removeEventListener('abort', onAbort);
      }
      void this.produce(call);
    });
  }

  /** Tokenizes and plans a call chunk by chunk; later chunks are tokenized while devices compute. */
  private async produce(call: Call): Promise<void> {
    try {
      for (const [start, end] of chunkRanges(call.task.count)) {
        if (call.failed) return;
        const pairs = call.task.encode(start, end);
        const lengths = pairs.map((p) => p.ids.length);
        for (const local of planBatches(lengths, call.limits)) {
          const width = paddedLength(lengths[local[0]], call.limits.padMultiple);
          call.batches.push(local.map((i) => ({ index: start + i, pair: pairs[i], width })));
        }
        this.refresh(call);
        this.pump();
        // Let the devices' replies through before tokenizing the next chunk.
        await yieldToEventLoop();
      }
      call.producing = false;
      this.finishIfDone(call);
    } catch (e) {
      this.fail([call], e as Error);
    }
  }

  /** Dispatches runs while a device has a free lane and some call has work. */
  private pump(): void {
    for (;;) {
      let device: DeviceSession | undefined;
      let most = 0;
      for (const [d, n] of this.free) if (n > most) [device, most] = [d, n];
      if (!device) return;
      const run = this.nextRun();
      if (!run) return;
      this.free.set(device, most - 1);
      this.hooks.onRun?.({
        device: device.name,
        width: run.width,
        parts: [...run.parts].map(([c, p]) => ({
          call: c.id,
          ...(c.task.label !== undefined ? { label: c.task.label } : {}),
          rows: p.length,
        })),
      });
      void this.execute(device, run);
    }
  }

  /** Calls with pending work, in the order of the header's step 2. */
  private order(): Call[] {
    const ready = [...this.calls].filter((c) => c.hasWork);
    return ready.sort(
      (a, b) =>
        CLASS_RANK[a.workClass] - CLASS_RANK[b.workClass] ||
        FairLevel.compare(a.tenant, b.tenant) ||
        FairLevel.compare(a.group, b.group) ||
        a.id - b.id,
    );
  }

  private nextRun(): Run | undefined {
    const order = this.order();
    const lead = order[0];
    if (!lead) return undefined;
    let rows = lead.batches.shift() as PendingPair[];
    const { limits } = lead;
    const exact = lead.task.exactWidth === true;
    let width = widthOf(rows, limits.padMultiple, exact);
    if (rows.length > 1 && (rows.length > limits.batchSize || rows.length * width > limits.maxBatchTokens)) {
      // Bounds shrank after an out-of-memory error (or pairs came back): cut to the current bounds.
      const lengths = rows.map((r) => r.pair.ids.length);
      const pieces = planBatches(lengths, limits).map((local) => {
        const w = paddedLength(lengths[local[0]], limits.padMultiple);
        return local.map((i) => ({ ...rows[i], width: w }));
      });
      rows = pieces[0];
      lead.batches.unshift(...pieces.slice(1));
      width = widthOf(rows, limits.padMultiple, exact);
    }
    const parts = new Map<Call, PendingPair[]>([[lead, rows]]);
    const run: Run = { lead, parts, width, skip: new Int32Array(new SharedArrayBuffer(4)) };
    if (lead.task.mergeKey !== undefined) this.topUp(run, order);
    for (const c of parts.keys()) this.refresh(c);
    this.charge(run);
    return run;
  }

  /** Fills the chosen batch with other calls' pairs (header, step 3). */
  private topUp(run: Run, order: readonly Call[]): void {
    const { lead } = run;
    const { batchSize, maxBatchTokens, padMultiple } = lead.limits;
    let total = (run.parts.get(lead) as PendingPair[]).length;
    const full = () => total >= batchSize || (total + 1) * run.width > maxBatchTokens;
    const others = order.filter((c) => c !== lead && c.task.mergeKey === lead.task.mergeKey);
    // Width-exact calls take only pairs planned at the run's width, and never widen it.
    const exact = lead.task.exactWidth === true;
    for (const widen of exact ? [false] : [false, true]) {
      for (const c of others) {
        for (const batch of c.batches) {
          if (full()) break;
          // A batch's pairs are sorted longest first: fitting ones from the front, widening ones from the back.
          const taken = new Set<number>();
          for (let k = 0; k < batch.length && !full(); k++) {
            const j = widen ? batch.length - 1 - k : k;
            const w = paddedLength(batch[j].pair.ids.length, padMultiple);
            if (exact ? batch[j].width !== run.width : !widen && w > run.width) continue;
            if (widen && (total + 1) * Math.max(w, run.width) > maxBatchTokens) break;
            run.width = Math.max(w, run.width);
            taken.add(j);
            total++;
            const mine = run.parts.get(c);
            if (mine) mine.push(batch[j]);
            else run.parts.set(c, [batch[j]]);
          }
          if (taken.size) {
            const kept = batch.filter((_, j) => !taken.has(j));
            batch.length = 0;
            batch.push(...kept);
          }
        }
        removeEmpty(c.batches);
        if (full()) return;
      }
    }
  }

  /** Each call in a run pays its own padded tokens, to its tenant and (weighted) to its group. */
  private charge(run: Run): void {
    for (const [c, rows] of run.parts) {
      const cost = rows.length * run.width;
      (this.classes.get(c.workClass) as FairLevel<TenantMember>).charge(c.tenant, cost);
      c.tenant.groups.charge(c.group, cost);
    }
  }

  private async execute(device: DeviceSession, run: Run): Promise<void> {
    const { lead, parts, width } = run;
    const pairs: EncodedPair[] = [];
    for (const rows of parts.values()) for (const r of rows) pairs.push(r.pair);
    this.posted.add(run);
    try {
      const tensors = lead.task.tensors(pairs, width);
      const { path, output } = lead.task.graphFor(device);
      let out: RunOutput | null;
      try {
        const start = this.now();
        out = await device.run(path, tensors.feeds, output, run.skip);
        // Skipped: every call in it was cancelled before the device thread reached it.
        if (out === null) return;
        (this.rates.get(device) as DeviceRate).record(pairs.length * width, start, this.now());
      } catch (e) {
        if (e instanceof DeviceRunError && !e.oom) throw new ModelRunError(path, device.name, { rows: pairs.length, width }, e.message);
        if (!(e instanceof DeviceRunError)) throw e;
        if (pairs.length === 1)
          throw new OutOfMemoryError(`${device.name} ran out of memory on a single pair of ${width} tokens: ${e.message}`);
        const { limits } = lead;
        limits.batchSize = Math.max(1, Math.floor((Math.min(limits.batchSize, pairs.length) * 3) / 4));
        limits.maxBatchTokens = Math.max(1, Math.floor((Math.min(limits.maxBatchTokens, pairs.length * width) * 3) / 4));
        for (const [c, rows] of parts) {
          if (c.failed) continue;
          c.batches.unshift(rows);
          this.refresh(c);
        }
        return;
      }
      const scores = lead.task.read(out, tensors, pairs.length);
      const columns = lead.task.columns;
      let r = 0;
      for (const [c, rows] of parts) {
        if (!c.failed) {
          for (let k = 0; k < rows.length; k++) {
            c.scores.set(scores.subarray((r + k) * columns, (r + k + 1) * columns), rows[k].index * columns);
          }
          c.remaining -= rows.length;
        }
        // The device ran them, whatever became of the call (a cancelled call's last batch is reported too).
        if (c.task.onBatch) reportBatch(c.task.onBatch, device.name, rows, width, pairs.length);
        r += rows.length;
      }
      for (const c of parts.keys()) this.finishIfDone(c);
    } catch (e) {
      this.fail([...parts.keys()], e as Error);
    } finally {
      this.posted.delete(run);
      this.free.set(device, (this.free.get(device) as number) + 1);
      this.pump();
    }
  }

  /** A call's AbortSignal fired: drop its pending pairs, reject it, and skip posted runs left with no live call. */
  private cancel(call: Call, reason: unknown): void {
    this.fail([call], new ScoringCancelledError(reason));
    for (const run of this.posted) {
      if ([...run.parts.keys()].every((c) => c.failed)) Atomics.store(run.skip, 0, 1);
    }
  }

  private finishIfDone(call: Call): void {
    if (call.failed || call.producing || call.remaining > 0 || !this.calls.has(call)) return;
    this.retire(call);
    call.settle.resolve(call.scores);
  }

  private fail(calls: readonly Call[], error: Error): void {
    for (const c of calls) {
      if (c.failed || !this.calls.has(c)) continue;
      c.failed = true;
      c.batches.length = 0;
      this.refresh(c);
      this.retire(c);
      c.settle.reject(error);
    }
  }

  /** The devices' measured rate together, padded tokens per millisecond (0 before any run). */
  private tokensPerMs(): number {
    let sum = 0;
    for (const r of this.rates.values()) sum += r.tokensPerMs;
    return sum;
  }

  private retire(call: Call): void {
    call.detach?.();
    this.calls.delete(call);
    call.tenant.live--;
    call.group.live--;
  }

  /** Keeps a call's group and tenant counted active exactly while the call has pending batches. */
  private refresh(call: Call): void {
    const ready = call.hasWork;
    if (ready === call.ready) return;
    call.ready = ready;
    const tenants = this.classes.get(call.workClass) as FairLevel<TenantMember>;
    const { groups } = call.tenant;
    // The credit a newly active group may start behind the clock: one batch of this call's padded
    // tokens; a newly active tenant's: what the devices run in tenantCreditMs, at least that batch.
    const next = call.batches[0];
    const credit = next ? next.length * widthOf(next, call.limits.padMultiple, call.task.exactWidth === true) : 0;
    if (ready) {
      if (call.group.active === 0) tenants.activate(call.tenant, Math.max(credit, this.tenantCreditMs * this.tokensPerMs()));
      groups.activate(call.group, credit);
    } else {
      groups.deactivate(call.group);
      if (call.group.active === 0) tenants.deactivate(call.tenant);
    }
  }
}

/** A run's width: its longest row, or for width-exact calls the width its rows were planned at. */
function widthOf(rows: readonly PendingPair[], padMultiple: number, exact: boolean): number {
  let width = 0;
  for (const r of rows) width = Math.max(width, exact ? r.width : paddedLength(r.pair.ids.length, padMultiple));
  return width;
}

function removeEmpty(batches: PendingPair[][]): void {
  let k = 0;
  for (const b of batches) if (b.length) batches[k++] = b;
  batches.length = k;
}

function reportBatch(
  onBatch: (stats: BatchStats) => void,
  device: string,
  rows: readonly PendingPair[],
  width: number,
  batchRows: number,
): void {
  let realTokens = 0;
  for (const r of rows) realTokens += r.pair.ids.length;
  try {
    onBatch({ device, rows: rows.length, realTokens, paddedTokens: rows.length * width, batchRows });
  } catch {
    // An observer's error must not fail scoring.
  }
}

function checkSchedule(task: ScoreTask): { workClass: WorkClass; tenant: string; group?: string; weight: number } {
  const s = task.schedule ?? {};
  const workClass = s.class ?? 'batch';
  if (!(workClass in CLASS_RANK))
    throw new RerankerArgumentError('class', `must be "interactive" or "batch" (default "batch"), got ${JSON.stringify(s.class)}`);
  const weight = s.weight ?? 1;
  if (!Number.isFinite(weight) || weight <= 0)
    throw new RerankerArgumentError('weight', `must be a number above 0 (default 1), got ${s.weight}`);
  return { workClass, tenant: s.tenant ?? SHARED_TENANT, group: s.group, weight };
}
