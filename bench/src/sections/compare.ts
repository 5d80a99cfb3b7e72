/**
 * The comparison both model sections run on one workload (a model and a list of pairs): the engine,
 * the runtime's limit over several batch plans, the engine's own plan and the reference's plan run
 * on the same runtime, the engine's device thread, and (encoders) transformers.js. Also the figures
 * that explain the gaps: padding efficiency, tokenizer time, tensor-building time, hand-off cost.
 */
import { FlagLLMReranker, FlagReranker, readModelFiles, type Pair } from '@rerank/engine';
import { applyInstruction } from '../../../libs/engine/src/instructions';
import { LLM_PASSAGE_INSTRUCTION, LLM_QUERY_INSTRUCTION, defaultMaxBatchTokens } from '../../../libs/engine/src/options';
import { TextTokenizer } from '../../../libs/engine/src/tokenization/text-tokenizer';
import type { PaddingSide } from '../../../libs/engine/src/batching/tensors';
import type { EncodedPair } from '../../../libs/engine/src/sequences/encoded-pair';
import { fmt, load1, measure, now, row, type Measurement } from '../measure';
import type { BenchModel } from '../models';
import {
  cloneBatches,
  MainThreadRunner,
  maxAbsDiff,
  prepareBatches,
  toEncoded,
  WorkerThreadRunner,
  type GraphFeeding,
  type PreparedBatch,
} from '../runtime/direct';
import { enginePlan, fixedRowsPlan, planTokens, tokenBudgetPlan, type Plan } from '../runtime/plans';
import { openTransformersJs } from '../runtime/transformers-js';
import { TENSOR_TIME, TOKENIZER_TIME } from './observations';
import type { BenchContext, Metric, Row } from '../types';

/** A batch plan of the runtime-limit sweep. */
export interface PlanSpec {
  kind: 'rows' | 'tokens';
  /** Rows per batch, or padded tokens per batch (at most 128 rows, as the engine's default). */
  value: number;
  padMultiple: number;
}

export function planName(p: PlanSpec): string {
  const base = p.kind === 'rows' ? `${p.value} row${p.value === 1 ? '' : 's'}/batch` : `≤${p.value} tokens/batch`;
  return p.padMultiple > 1 ? `${base}, pad ×${p.padMultiple}` : base;
}

function makePlan(p: PlanSpec, lengths: ArrayLike<number>): Plan {
  return p.kind === 'rows' ? fixedRowsPlan(planName(p), lengths, p.value, p.padMultiple) : tokenBudgetPlan(planName(p), lengths, p.value, 128, p.padMultiple);
}

export interface CompareSpec {
  section: string;
  group: string;
  model: BenchModel;
  family: 'encoder' | 'llm';
  pairs: Pair[];
  threads: number;
  /** Timed runs of the key rows: the engine, the best limit plan, the reference plan, transformers.js. */
  runs: number;
  /** Timed runs of the diagnostic rows: the other limit plans, the engine's plan, device thread, tuned engine. */
  diagnosticRuns: number;
  /** Pairs in a warm-up run (the first ones for the engine; the longest batches for the direct runs). */
  warmupPairs: number;
  /** The runtime-limit sweep. */
  limitPlans: PlanSpec[];
  /** The reference's plan: fixed batches of 128 rows after a global length sort. */
  referenceRows: number;
  /** The engine's pad multiple for this family (score-pipeline pads LLM batches to 8). */
  enginePadMultiple: number;
  /** Run the reference plan (its padding efficiency is reported either way). */
  reference: boolean;
  /** Run the engine's own plan on the runtime, main thread (its padding efficiency is reported either way). */
  enginePlanOnRuntime: boolean;
  /** Also score with the engine set to the best plan's bounds (batchSize / maxBatchTokens). */
  tunedEngine: boolean;
  /** Also run the engine's plan and the best plan through the engine's device thread. */
  deviceThread: boolean;
  transformersJs: boolean;
}

export interface CompareResult {
  rows: Row[];
  metrics: Metric[];
  notes: string[];
  /** Limit plans from fastest to slowest (for sizing later sweeps). */
  ranking: PlanSpec[];
}

/** The limit plan spec the tuned engine is given, as engine options. */
function engineBounds(p: PlanSpec): { batchSize: number; maxBatchTokens: number } {
  return p.kind === 'rows' ? { batchSize: p.value, maxBatchTokens: 1_000_000 } : { batchSize: 128, maxBatchTokens: p.value };
}

/** Tokenizes every text of the pairs as the engine does (instructions applied, each distinct text once). */
function tokenizeAll(tokenizer: TextTokenizer, pairs: readonly Pair[], family: 'encoder' | 'llm'): number {
  const cache = new Map<string, number[]>();
  let tokens = 0;
  const ids = (text: string) => {
    let v = cache.get(text);
    if (!v) {
      v = tokenizer.encode(text);
      cache.set(text, v);
    }
    tokens += v.length;
  };
  for (const [q, p] of pairs) {
    if (family === 'llm') {
      ids(applyInstruction(q, LLM_QUERY_INSTRUCTION, '{}{}', 'queryInstructionFormat'));
      ids(applyInstruction(p, LLM_PASSAGE_INSTRUCTION, '{}{}', 'passageInstructionFormat'));
    } else {
      ids(q);
      ids(p);
    }
  }
  return tokens;
}

/** The warm-up of a fresh direct session: the plan's leading (widest) batches, about `pairs` pairs. */
function warmupBatches(batches: readonly PreparedBatch[], pairs: number): PreparedBatch[] {
  const out: PreparedBatch[] = [];
  let n = 0;
  for (const b of batches) {
    if (n >= pairs) break;
    out.push(b);
    n += b.indices.length;
  }
  return out;
}

const mean = (a: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i];
  return sum / Math.max(1, a.length);
};
const std = (a: ArrayLike<number>) => {
  const m = mean(a);
  return Math.sqrt(mean(Array.from(a, (x) => (x - m) ** 2)));
};
const e = (x: number) => (x === 0 ? '0' : x.toExponential(1));

export async function compareOnWorkload(ctx: BenchContext, spec: CompareSpec): Promise<CompareResult> {
  const { section, group, pairs, threads, runs } = spec;
  const n = pairs.length;
  const rows: Row[] = [];
  const metrics: Metric[] = [];
  const notes: string[] = [];
  const metric = (name: string, value: number | string, unit?: string, mnotes?: string, headline = false) =>
    metrics.push({ group, name, value, ...(unit ? { unit } : {}), ...(mnotes ? { notes: mnotes } : {}), ...(headline ? { headline } : {}) });
  const log = (m: string) => ctx.log(`[${section} · ${group}] ${m}`);
  const loadBefore = load1();

  // --- the engine, defaults (bar the fixed thread count) ---
  const options = { devices: ['cpu' as const], intraOpNumThreads: threads };
  const open = (extra: Record<string, number> = {}) =>
    spec.family === 'encoder' ? new FlagReranker(spec.model.dir, { ...options, ...extra }) : new FlagLLMReranker(spec.model.dir, { ...options, ...extra });
  const engine = open();
  await engine.ready();
  let t = now();
  const encoded: EncodedPair[] = toEncoded(await engine.inspectInputs(pairs));
  const inspectSeconds = now() - t;
  const lengths = Int32Array.from(encoded, (p) => p.ids.length);
  let engineScores: Float64Array = new Float64Array(0);
  log(`engine (computeScore) on ${n} pairs…`);
  const mEngine = await measure(
    async () => {
      engineScores = Float64Array.from((await engine.computeScore(pairs)) as number[]);
    },
    { runs, warmup: () => engine.computeScore(pairs.slice(0, spec.warmupPairs)) },
  );
  await engine.close();
  const engineLimits = { batchSize: 128, maxBatchTokens: defaultMaxBatchTokens([{ kind: 'cpu' }]), padMultiple: spec.enginePadMultiple };
  const engPlan = enginePlan(`engine's plan (≤${engineLimits.maxBatchTokens} tokens, ≤${engineLimits.batchSize} rows, chunks of 256 then 4096)`, lengths, engineLimits);
  const engineRow = row(section, group, 'engine: computeScore, defaults', n, mEngine, `batchSize ${engineLimits.batchSize}, maxBatchTokens ${engineLimits.maxBatchTokens}`);
  rows.push(engineRow);
  log(`engine ${fmt(engineRow.pairsPerSecond)} pairs/s`);

  // --- the tokenizer alone ---
  const tokenizer = new TextTokenizer(readModelFiles(spec.model.dir));
  let textTokens = 0;
  const mTok = await measure(
    async () => {
      textTokens = tokenizeAll(tokenizer, pairs, spec.family);
    },
    { runs, warmup: async () => tokenizeAll(tokenizer, pairs.slice(0, spec.warmupPairs), spec.family) },
  );

  // --- the runtime on the main thread, pre-built batches ---
  const files = readModelFiles(spec.model.dir);
  const output = spec.family === 'encoder' ? 'logits' : 'scores';
  const runner = await MainThreadRunner.open(files.graph, output, threads);
  const names = runner.inputNames;
  const side: PaddingSide = spec.family === 'encoder' ? 'right' : names.includes('position_ids') ? tokenizer.paddingSide : 'right';
  const feeding: GraphFeeding = {
    path: files.graph,
    output,
    padId: tokenizer.padId,
    side,
    inputs: { tokenTypeIds: names.includes('token_type_ids'), positionIds: names.includes('position_ids'), lengths: false },
  };
  let worstDiff = 0;
  let freshRunner = true;
  const runPlan = async (plan: Plan, label: string, timedRuns: number): Promise<{ m: Measurement; diff: number; row: Row; buildSeconds: number }> => {
    const { batches, seconds: buildSeconds } = prepareBatches(encoded, plan, feeding);
    runner.wrap(batches);
    let scores: Float64Array = new Float64Array(0);
    const m = await measure(
      async () => {
        scores = await runner.score(batches, n);
      },
      {
        runs: timedRuns,
        // The direct plans share one session: warmed once, on the first plan.
        warmup: freshRunner
          ? async () => {
              await runner.score(warmupBatches(batches, spec.warmupPairs), n);
              freshRunner = false;
            }
          : null,
      },
    );
    const diff = maxAbsDiff(engineScores, scores);
    worstDiff = Math.max(worstDiff, diff);
    const tk = planTokens(plan, lengths);
    const r = row(section, group, label, n, m, `${tk.batches} batches, padding eff. ${fmt(tk.real / tk.computed, 3)}, max |Δscore| vs engine ${e(diff)}${timedRuns === 1 && runs > 1 ? '; one timed run' : ''}`);
    log(`${label}: ${fmt(r.pairsPerSecond)} pairs/s`);
    return { m, diff, row: r, buildSeconds };
  };

  // The sweep: one timed run each (diagnostic), then the best plan again with the key rows' run count.
  const sweep: { spec: PlanSpec; row: Row }[] = [];
  for (const p of spec.limitPlans) {
    const r = await runPlan(makePlan(p, lengths), `runtime limit: ${planName(p)}, main thread`, spec.diagnosticRuns);
    rows.push(r.row);
    sweep.push({ spec: p, row: r.row });
  }
  sweep.sort((a, b) => b.row.pairsPerSecond - a.row.pairsPerSecond);
  const best = sweep[0];
  if (runs > spec.diagnosticRuns) {
    const again = await runPlan(makePlan(best.spec, lengths), `runtime limit: ${planName(best.spec)}, main thread`, runs);
    rows[rows.indexOf(best.row)] = again.row;
    best.row = again.row;
  }
  let engMain: Awaited<ReturnType<typeof runPlan>> | undefined;
  if (spec.enginePlanOnRuntime) {
    engMain = await runPlan(engPlan, "engine's plan on the runtime, main thread", spec.diagnosticRuns);
    rows.push(engMain.row);
  }
  // The limit: the fastest plan on the runtime, the engine's own plan included.
  const limitRow = engMain && engMain.row.pairsPerSecond > best.row.pairsPerSecond ? engMain.row : best.row;
  limitRow.baseline = true;
  limitRow.configuration = limitRow === best.row ? best.row.configuration.replace('runtime limit:', 'runtime limit (best):') : `${limitRow.configuration} (the best plan: the limit)`;
  const refPlan = fixedRowsPlan(`reference plan: ${spec.referenceRows} rows/batch`, lengths, spec.referenceRows, spec.enginePadMultiple);
  let ref: Awaited<ReturnType<typeof runPlan>> | undefined;
  let refEnd: Measurement | undefined;
  if (spec.reference) {
    ref = await runPlan(refPlan, `reference plan: length-sorted, ${spec.referenceRows} rows/batch${spec.enginePadMultiple > 1 ? `, pad ×${spec.enginePadMultiple}` : ''}, main thread`, runs);
    rows.push(ref.row);
    // FlagEmbedding end to end: tokenize everything first, then the plan.
    refEnd = { seconds: mTok.seconds + ref.m.seconds, runs: [], warmupSeconds: 0 };
    rows.push(row(section, group, 'reference end to end: tokenize all, then the reference plan', n, refEnd, 'tokenizer median + reference plan median (derived, not a separate run)'));
  }
  await runner.close();

  // --- the engine's device thread (worker), the engine's hand-off ---
  if (spec.deviceThread) {
    const wr = await WorkerThreadRunner.open(feeding, threads);
    let freshWorker = true;
    for (const [plan, label] of [
      [engPlan, "engine's plan through the engine's device thread (2 in flight)"],
      [makePlan(best.spec, lengths), `${planName(best.spec)} through the engine's device thread (2 in flight)`],
    ] as const) {
      const { batches } = prepareBatches(encoded, plan, feeding);
      let copies: PreparedBatch[] = [];
      let scores: Float64Array = new Float64Array(0);
      const m = await measure(
        async () => {
          scores = await wr.score(copies, n);
        },
        {
          runs: spec.diagnosticRuns,
          before: () => {
            copies = cloneBatches(batches);
          },
          warmup: freshWorker
            ? async () => {
                await wr.score(warmupBatches(copies, spec.warmupPairs), n);
                freshWorker = false;
              }
            : null,
        },
      );
      const diff = maxAbsDiff(engineScores, scores);
      worstDiff = Math.max(worstDiff, diff);
      const r = row(section, group, label, n, m, `${plan.batches.length} batches, max |Δscore| vs engine ${e(diff)}`);
      rows.push(r);
      log(`${label}: ${fmt(r.pairsPerSecond)} pairs/s`);
    }
    await wr.close();
  }

  // --- the engine given the best plan's bounds ---
  if (spec.tunedEngine) {
    const bounds = engineBounds(best.spec);
    const tuned = open(bounds);
    await tuned.ready();
    const m = await measure(() => tuned.computeScore(pairs), { runs: spec.diagnosticRuns, warmup: () => tuned.computeScore(pairs.slice(0, spec.warmupPairs)) });
    await tuned.close();
    const r = row(section, group, `engine: computeScore, batchSize ${bounds.batchSize}, maxBatchTokens ${bounds.maxBatchTokens}`, n, m, `the best limit plan's bounds (${planName(best.spec)}) as engine options`);
    rows.push(r);
    log(`${r.configuration}: ${fmt(r.pairsPerSecond)} pairs/s`);
  }

  // --- transformers.js ---
  let tjsRow: Row | undefined;
  if (spec.transformersJs) {
    const tjs = await openTransformersJs(spec.model.dir, threads, 32);
    let scores: Float64Array = new Float64Array(0);
    const m = await measure(
      async () => {
        scores = await tjs.score(pairs);
      },
      { runs, warmup: () => tjs.score(pairs.slice(0, spec.warmupPairs)) },
    );
    await tjs.close();
    const diff = maxAbsDiff(engineScores, scores);
    tjsRow = row(section, group, 'transformers.js: its tokenizer + model, batches of 32 in input order', n, m, `padding + truncation to 512; max |Δscore| vs engine ${e(diff)}`);
    rows.push(tjsRow);
    metric('max |Δscore| engine vs transformers.js', e(diff));
    log(`transformers.js ${fmt(tjsRow.pairsPerSecond)} pairs/s`);
  }

  // --- raw figures (ratios between rows are derived at render time: observations.ts) ---
  const engTk = planTokens(engPlan, lengths);
  const refTk = planTokens(refPlan, lengths);
  const bestTk = planTokens(makePlan(best.spec, lengths), lengths);
  metric("padding efficiency, engine's plan", fmt(engTk.real / engTk.computed, 4), '', `${engTk.batches} batches`, true);
  metric('padding efficiency, reference plan', fmt(refTk.real / refTk.computed, 4), '', `${refTk.batches} batches`, true);
  metric('padding efficiency, best limit plan', fmt(bestTk.real / bestTk.computed, 4), '', `${planName(best.spec)}, ${bestTk.batches} batches`);
  metric(TOKENIZER_TIME, fmt(mTok.seconds, 3), 's', `${textTokens} text tokens; median of ${runs}`);
  metric('encode path (inspectInputs: tokenize + template + truncation)', fmt(inspectSeconds, 3), 's', 'one run');
  const built = prepareBatches(encoded, engPlan, feeding).seconds;
  metric(TENSOR_TIME, fmt(built, 3), 's', 'one run');
  metric('max |Δscore| engine vs every direct runtime run', e(worstDiff), '', `engine scores: mean ${fmt(mean(engineScores), 3)}, standard deviation ${fmt(std(engineScores), 3)}`);
  metric('real tokens per pair (mean)', fmt(engTk.real / n, 1));
  metric('1-min load average before / after', `${fmt(loadBefore, 2)} / ${fmt(load1(), 2)}`);
  return { rows, metrics, notes, ranking: sweep.map((s) => s.spec) };
}
