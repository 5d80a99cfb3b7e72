import { loadavg } from 'node:os';
import { foreignCores, snapshot, waitForQuiet } from './cpu-monitor';
import type { Metric, Row } from './types';

/**
 * What to do when other processes take CPU during a timed run: above `threshold` cores on average,
 * wait for a quiet second (at most `maxWaitSeconds`) and time the run again, at most `retries` times.
 */
export const disturbance = { threshold: 0.25, retries: 2, maxWaitSeconds: 120 };

/** Seconds since an arbitrary origin, monotonic. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile, p in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface Measurement {
  /** Median of the timed runs. */
  seconds: number;
  runs: number[];
  warmupSeconds: number;
  /** Cores other processes kept busy during each kept run (average over the run). */
  foreign?: number[];
  /** Timed runs thrown away because other processes disturbed them. */
  discarded?: number;
}

export interface MeasureOptions {
  /** Timed runs (median reported). */
  runs: number;
  /** The warm-up (default: one untimed `run`); `null` for none. */
  warmup?: (() => Promise<unknown>) | null;
  /** Called (and awaited) before each timed run, outside the timing (e.g. to rebuild transferred buffers). */
  before?: () => unknown;
}

const SELF_TIMED = Symbol('selfTimed');

/**
 * What a run returns when it times itself: the seconds of its measured part only (a job from its POST
 * to its webhook), not the bookkeeping around it (samplers stopping, CPU readings, a watchdog's sleep).
 */
export function selfTimed(seconds: number): { [SELF_TIMED]: number } {
  return { [SELF_TIMED]: seconds };
}

function ownSeconds(result: unknown): number | undefined {
  return typeof result === 'object' && result !== null && SELF_TIMED in result
    ? (result as { [SELF_TIMED]: number })[SELF_TIMED]
    : undefined;
}

/** One timed run of `run`, timed again (after a quiet second) when other processes disturbed it. */
async function timedRun(
  run: () => Promise<unknown>,
  before?: () => unknown,
): Promise<{ seconds: number; foreign: number; discarded: number }> {
  let discarded = 0;
  for (let attempt = 0; ; attempt++) {
    await before?.();
    const a = snapshot();
    const t = now();
    const result = await run();
    const seconds = ownSeconds(result) ?? now() - t;
    const others = foreignCores(a, snapshot());
    if (others > disturbance.threshold && attempt < disturbance.retries) {
      discarded++;
      process.stderr.write(
        `[bench] other processes took ${others.toFixed(2)} cores during a timed run: waiting for a quiet machine, then timing it again\n`,
      );
      await waitForQuiet(disturbance.threshold / 2, disturbance.maxWaitSeconds);
      continue;
    }
    return { seconds, foreign: others, discarded };
  }
}

/** A warm-up, then `runs` timed runs of `run`; reports the median. */
export async function measure(run: () => Promise<unknown>, options: MeasureOptions): Promise<Measurement> {
  const warmup = options.warmup === undefined ? run : options.warmup;
  let warmupSeconds = 0;
  if (warmup) {
    await options.before?.();
    const t = now();
    await warmup();
    warmupSeconds = now() - t;
  }
  const runs: number[] = [];
  const foreign: number[] = [];
  let discarded = 0;
  for (let i = 0; i < options.runs; i++) {
    const r = await timedRun(run, options.before);
    runs.push(r.seconds);
    foreign.push(r.foreign);
    discarded += r.discarded;
  }
  return { seconds: median(runs), runs, warmupSeconds, foreign, discarded };
}

/** One configuration of an alternating measurement. */
export interface Contender {
  name: string;
  run: () => Promise<unknown>;
  /** Untimed, once before the first round (default none: warm it up yourself). */
  warmup?: () => Promise<unknown>;
  /** Called before each timed run, outside the timing. */
  before?: () => unknown;
}

export interface Alternation {
  /** One measurement per contender (median of its runs, one run per round). */
  measurements: Measurement[];
  /** rounds[r][c]: seconds of contender c in round r. */
  rounds: number[][];
}

/**
 * Contenders timed in turn, A/B/A/B...: `rounds` rounds, each running every contender once in the
 * given order. On a machine whose speed drifts over minutes, the ratio of two contenders within a
 * round (`roundRatios`) is steadier than the ratio of medians taken minutes apart.
 */
export async function alternate(contenders: readonly Contender[], rounds: number): Promise<Alternation> {
  const warmups: number[] = [];
  for (const c of contenders) {
    const t = now();
    await c.warmup?.();
    warmups.push(c.warmup ? now() - t : 0);
  }
  const table: number[][] = [];
  const foreign: number[][] = contenders.map(() => []);
  const discarded = contenders.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    const round: number[] = [];
    for (let c = 0; c < contenders.length; c++) {
      const x = await timedRun(contenders[c].run, contenders[c].before);
      round.push(x.seconds);
      foreign[c].push(x.foreign);
      discarded[c] += x.discarded;
    }
    table.push(round);
  }
  return {
    rounds: table,
    measurements: contenders.map((_, c) => {
      const runs = table.map((round) => round[c]);
      return { seconds: median(runs), runs, warmupSeconds: warmups[c], foreign: foreign[c], discarded: discarded[c] };
    }),
  };
}

/** Per round: the speed of contender `a` over contender `b` (same work: their seconds inverted). */
export function roundRatios(alt: Alternation, a: number, b: number): number[] {
  return alt.rounds.map((round) => round[b] / round[a]);
}

export function row(
  section: string,
  group: string,
  configuration: string,
  pairs: number,
  m: Measurement,
  notes = '',
  baseline = false,
): Row {
  return {
    section,
    group,
    configuration,
    pairs,
    seconds: m.seconds,
    pairsPerSecond: pairs / m.seconds,
    runs: m.runs,
    ...(m.foreign?.length ? { foreignCores: Math.max(...m.foreign) } : {}),
    ...(m.discarded ? { discarded: m.discarded } : {}),
    notes,
    ...(baseline ? { baseline } : {}),
  };
}

/** Fills `ratio` of every row: its pairs/s over its group baseline's. */
export function withRatios(rows: Row[]): Row[] {
  const base = new Map<string, number>();
  for (const r of rows) if (r.baseline) base.set(`${r.section}\0${r.group}`, r.pairsPerSecond);
  for (const r of rows) {
    const b = base.get(`${r.section}\0${r.group}`);
    if (b) r.ratio = r.pairsPerSecond / b;
  }
  return rows;
}

/** The 1-minute load average, for noting how busy the machine was. */
export function load1(): number {
  return loadavg()[0];
}

export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A function that appends a metric of `group` to `metrics` (optional fields only when given). */
export function metricRecorder(metrics: Metric[], group: string) {
  return (name: string, value: number | string, unit?: string, notes?: string, headline = false): void => {
    metrics.push({ group, name, value, ...(unit ? { unit } : {}), ...(notes ? { notes } : {}), ...(headline ? { headline } : {}) });
  };
}
