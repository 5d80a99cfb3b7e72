/**
 * The comparison both model sections run on one workload (a model and a list of pairs): the engine,
 * the runtime's limit over several batch plans, the engine's own plan and the reference's plan run
 * on the same runtime, the engine's device thread, and (encoders) transformers.js. Also the figures
 * that explain the gaps: padding efficiency, tokenizer time, tensor-building time, hand-off cost.
 */
import {
  type BaseReranker,
  createReranker,
  promptFormatter,
  QWEN3_DEFAULT_INSTRUCTION,
  QWEN3_PROMPT_TEMPLATE,
  readModelFiles,
  type Pair,
  type ScoreOverrides,
} from '@rerank/engine';

const fillQwen3 = promptFormatter(QWEN3_PROMPT_TEMPLATE);
import { applyInstruction } from '../../../libs/engine/src/instructions';
import { LLM_PASSAGE_INSTRUCTION, LLM_QUERY_INSTRUCTION, defaultMaxBatchTokens } from '../../../libs/engine/src/options';
import { TextTokenizer } from '../../../libs/engine/src/tokenization/text-tokenizer';
import type { PaddingSide } from '../../../libs/engine/src/batching/tensors';
import type { EncodedPair } from '../../../libs/engine/src/sequences/encoded-pair';
import { alternate, fmt, load1, measure, metricRecorder, now, row, type Contender, type Measurement } from '../measure';
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
import { CONFIG, FUSED_DIFF, TENSOR_TIME, TOKENIZER_TIME } from './names';
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
  return p.kind === 'rows'
    ? fixedRowsPlan(planName(p), lengths, p.value, p.padMultiple)
    : tokenBudgetPlan(planName(p), lengths, p.value, 128, p.padMultiple);
}

export interface CompareSpec {
  section: string;
  group: string;
  model: BenchModel;
  family: 'encoder' | 'llm' | 'qwen3';
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
  /** The reference's pad multiple (FlagEmbedding pads LLM batches to 8). */
  referencePadMultiple: number;
  /** The engine's pad multiple for this family on the CPU (1: LLM batches are padded to 8 on GPUs only). */
  enginePadMultiple: number;
  /** Run the reference plan (its padding efficiency is reported either way). */
  reference: boolean;
  /** Run the engine's own plan on the runtime, main thread (its padding efficiency is reported either way). */
  enginePlanOnRuntime: boolean;
  /** Also score with the engine set to the best plan's bounds (batchSize / maxBatchTokens) when they differ from its defaults. */
  tunedEngine: boolean;
  /** Also run the engine's plan and the best plan through the engine's device thread. */
  deviceThread: boolean;
  transformersJs: boolean;
  /**
   * Time the engine and the best limit plan alternating (A/B/A/B, `runs` rounds) after the sweep, instead
   * of the engine once before it. The headline ratio is then the median of the per-round ratios.
   */
  alternate: boolean;
  /**
   * The same model with its transformer blocks fused (onnxruntime contrib operators): the engine and the
   * limit over the best `fusedPlans` plans of the plain sweep run on it too, inside the alternation.
   */
  fused?: BenchModel;
  fusedPlans?: number;
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
function tokenizeAll(tokenizer: TextTokenizer, pairs: readonly Pair[], family: CompareSpec['family']): number {
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
    if (family === 'qwen3') {
      // One text per pair: the prompt's middle (the frame is tokenized once per call).
      tokens += tokenizer.encode(fillQwen3({ instruction: QWEN3_DEFAULT_INSTRUCTION, query: q, document: p })).length;
    } else if (family === 'llm') {
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
  const metric = metricRecorder(metrics, group);
  const log = (m: string) => ctx.log(`[${section} · ${group}] ${m}`);
  const loadBefore = load1();
  const alternation = `${section}/${group}`;

  // --- the engine, defaults (bar the fixed thread count) ---
  // Raw scores, as the direct runs read them (qwen3 normalizes by default).
  const options = { devices: ['cpu' as const], intraOpNumThreads: threads, normalize: false };
  const open = (dir: string, extra: Record<string, number> = {}) =>
    createReranker(spec.family, dir, { ...options, ...extra }) as BaseReranker<ScoreOverrides, number>;
  const engine = open(spec.model.dir);
  await engine.ready();
  const t = now();
  const encoded: EncodedPair[] = toEncoded(await engine.inspectInputs(pairs));
  const inspectSeconds = now() - t;
  const lengths = Int32Array.from(encoded, (p) => p.ids.length);
  let engineScores: Float64Array = new Float64Array(0);
  const engineRun = async () => {
    engineScores = Float64Array.from(await engine.computeScore(pairs));
  };
  const engineWarmup = () => engine.computeScore(pairs.slice(0, spec.warmupPairs));
  const engineLimits = { batchSize: 128, maxBatchTokens: defaultMaxBatchTokens([{ kind: 'cpu' }]), padMultiple: spec.enginePadMultiple };
  const engineNotes = `batchSize ${engineLimits.batchSize}, maxBatchTokens ${engineLimits.maxBatchTokens}${spec.family !== 'encoder' ? `, pad ×${engineLimits.padMultiple} on the CPU` : ''}`;
  let engineRow: Row | undefined;
  if (!spec.alternate) {
    log(`engine (computeScore) on ${n} pairs…`);
    const mEngine = await measure(engineRun, { runs, warmup: engineWarmup });
    engineRow = row(section, group, CONFIG.engine, n, mEngine, engineNotes);
    rows.push(engineRow);
    log(`engine ${fmt(engineRow.pairsPerSecond)} pairs/s`);
  } else {
    await engineWarmup();
  }
  const engPlan = enginePlan(
    `engine's plan (≤${engineLimits.maxBatchTokens} tokens, ≤${engineLimits.batchSize} rows, chunks of 256 then 4096)`,
    lengths,
    engineLimits,
  );

  // --- the tokenizer alone ---
  const tokenizer = new TextTokenizer(readModelFiles(spec.model.dir));
  let textTokens = 0;
  const mTok = await measure(
    () => {
      textTokens = tokenizeAll(tokenizer, pairs, spec.family);
      return Promise.resolve();
    },
    { runs, warmup: () => Promise.resolve(tokenizeAll(tokenizer, pairs.slice(0, spec.warmupPairs), spec.family)) },
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
  /** Rows whose notes name their score difference to the engine: filled in once the engine's scores are known. */
  const scored: { row: Row; scores: () => Float64Array; notes: (diff: string) => string }[] = [];
  const prepared = new Map<Plan, PreparedBatch[]>();
  const batchesOf = (plan: Plan) => {
    let b = prepared.get(plan);
    if (!b) {
      b = prepareBatches(encoded, plan, feeding).batches;
      prepared.set(plan, b);
    }
    return b;
  };
  /** One plan on a main-thread session: a row (notes completed later) and the scores of its last run. */
  const planRun = (r: MainThreadRunner, plan: Plan) => {
    const batches = batchesOf(plan);
    r.wrap(batches);
    let scores: Float64Array = new Float64Array(0);
    return {
      run: async () => {
        scores = await r.score(batches, n);
      },
      warmup: () => r.score(warmupBatches(batches, spec.warmupPairs), n),
      scores: () => scores,
    };
  };
  const planNotes = (plan: Plan, timedRuns: number) => {
    const tk = planTokens(plan, lengths);
    return (diff: string) =>
      `${tk.batches} batches, padding eff. ${fmt(tk.real / tk.computed, 3)}, max |Δscore| vs engine ${diff}${timedRuns === 1 && runs > 1 ? '; one timed run' : ''}`;
  };
  const freshRunners = new Set<MainThreadRunner>();
  /** A plan timed on its own (`timedRuns` runs; the runner warmed once, on its first plan). */
  const runPlan = async (r: MainThreadRunner, plan: Plan, label: string, timedRuns: number): Promise<Row> => {
    const p = planRun(r, plan);
    const fresh = !freshRunners.has(r);
    freshRunners.add(r);
    const m = await measure(p.run, { runs: timedRuns, warmup: fresh ? p.warmup : null });
    const x = row(section, group, label, n, m);
    scored.push({ row: x, scores: p.scores, notes: planNotes(plan, timedRuns) });
    log(`${label}: ${fmt(x.pairsPerSecond)} pairs/s`);
    return x;
  };

  // The sweep: one timed run each (diagnostic); the engine's own plan is a candidate for the limit too.
  const sweep: { spec: PlanSpec | null; plan: Plan; label: string; row: Row }[] = [];
  const sweepPlans: { spec: PlanSpec | null; plan: Plan; label: string }[] = spec.limitPlans.map((p) => ({
    spec: p,
    plan: makePlan(p, lengths),
    label: `runtime limit: ${planName(p)}, main thread`,
  }));
  if (spec.enginePlanOnRuntime) sweepPlans.push({ spec: null, plan: engPlan, label: "engine's plan on the runtime, main thread" });
  // A sweep of one plan that the alternation times anyway needs no run of its own.
  const skipSweep = spec.alternate && sweepPlans.length === 1;
  for (const p of sweepPlans) {
    if (skipSweep) break;
    const x = await runPlan(runner, p.plan, p.label, spec.diagnosticRuns);
    rows.push(x);
    sweep.push({ ...p, row: x });
  }
  const ranked = [...sweep].sort((a, b) => b.row.pairsPerSecond - a.row.pairsPerSecond);
  const limitSpecs = ranked.filter((s) => s.spec).map((s) => s.spec as PlanSpec);
  const bestEntry: { spec: PlanSpec | null; plan: Plan; label: string; row?: Row } = skipSweep ? sweepPlans[0] : ranked[0];
  const bestSpec: PlanSpec = limitSpecs[0] ?? spec.limitPlans[0];
  const limitLabel = (label: string) =>
    label.startsWith('runtime limit:') ? label.replace('runtime limit:', 'runtime limit (best):') : `${label} (the best plan: the limit)`;

  // --- the fused graph: the best plans of the plain sweep, each timed once ---
  let fusedRunner: MainThreadRunner | undefined;
  let fusedEngine: ReturnType<typeof open> | undefined;
  let fusedBest: { plan: Plan; spec: PlanSpec; row?: Row } | undefined;
  if (spec.fused) {
    fusedRunner = await MainThreadRunner.open(readModelFiles(spec.fused.dir).graph, output, threads);
    const candidates = (limitSpecs.length ? limitSpecs : spec.limitPlans).slice(0, Math.max(1, spec.fusedPlans ?? 2));
    const fusedSweep: { spec: PlanSpec; plan: Plan; row?: Row }[] = candidates.map((c) => ({ spec: c, plan: makePlan(c, lengths) }));
    if (fusedSweep.length > 1 || !spec.alternate) {
      for (const f of fusedSweep) {
        f.row = await runPlan(fusedRunner, f.plan, `${CONFIG.limitFusedPrefix}: ${planName(f.spec)}, main thread`, spec.diagnosticRuns);
        rows.push(f.row);
      }
    }
    fusedBest = [...fusedSweep].sort((a, b) => (b.row?.pairsPerSecond ?? 0) - (a.row?.pairsPerSecond ?? 0))[0];
    fusedEngine = open(spec.fused.dir);
    await fusedEngine.ready();
  }

  // --- the key comparison: engine and limit (plain and fused) timed alternating ---
  let limitRow: Row;
  let fusedEngineScores: Float64Array = new Float64Array(0);
  if (spec.alternate) {
    const best = planRun(runner, bestEntry.plan);
    const contenders: Contender[] = [
      { name: 'engine', run: engineRun },
      { name: 'limit', run: best.run, ...(freshRunners.has(runner) ? {} : { warmup: best.warmup }) },
    ];
    freshRunners.add(runner);
    let fusedLimit: ReturnType<typeof planRun> | undefined;
    if (fusedEngine && fusedRunner && fusedBest) {
      const fe = fusedEngine;
      fusedLimit = planRun(fusedRunner, fusedBest.plan);
      contenders.push(
        {
          name: 'engine, fused',
          run: async () => {
            fusedEngineScores = Float64Array.from(await fe.computeScore(pairs));
          },
          warmup: () => fe.computeScore(pairs.slice(0, spec.warmupPairs)),
        },
        { name: 'limit, fused', run: fusedLimit.run, ...(freshRunners.has(fusedRunner) ? {} : { warmup: fusedLimit.warmup }) },
      );
      freshRunners.add(fusedRunner);
    }
    log(`alternating ${contenders.map((c) => c.name).join(' / ')}, ${runs} round(s)…`);
    const alt = await alternate(contenders, runs);
    engineRow = { ...row(section, group, CONFIG.engine, n, alt.measurements[0], engineNotes), alternation };
    rows.unshift(engineRow);
    limitRow = { ...row(section, group, limitLabel(bestEntry.label), n, alt.measurements[1]), alternation };
    scored.push({ row: limitRow, scores: best.scores, notes: planNotes(bestEntry.plan, runs) });
    // The alternation's runs replace the sweep's single run of the same plan.
    if (bestEntry.row) rows[rows.indexOf(bestEntry.row)] = limitRow;
    else rows.push(limitRow);
    if (fusedLimit && fusedBest) {
      const fusedEngineRow = {
        ...row(section, group, CONFIG.engineFused, n, alt.measurements[2], `${engineNotes}; ${spec.fused?.dir.split('/').pop()}`),
        alternation,
      };
      const fusedLimitRow = {
        ...row(section, group, `${CONFIG.limitFusedPrefix} (best): ${planName(fusedBest.spec)}, main thread`, n, alt.measurements[3]),
        alternation,
      };
      scored.push({ row: fusedLimitRow, scores: fusedLimit.scores, notes: planNotes(fusedBest.plan, runs) });
      rows.splice(1, 0, fusedEngineRow);
      if (fusedBest.row) rows[rows.indexOf(fusedBest.row)] = fusedLimitRow;
      else rows.push(fusedLimitRow);
    }
    for (const [i, c] of contenders.entries())
      log(`${c.name}: ${fmt(n / alt.measurements[i].seconds)} pairs/s (rounds ${alt.rounds.map((r) => fmt(n / r[i], 1)).join(', ')})`);
  } else {
    limitRow = bestEntry.row as Row;
    limitRow.configuration = limitLabel(limitRow.configuration);
    if (runs > spec.diagnosticRuns && bestEntry.spec) {
      const again = await runPlan(runner, bestEntry.plan, limitRow.configuration, runs);
      rows[rows.indexOf(limitRow)] = again;
      limitRow = again;
    }
    if (fusedEngine && fusedBest) {
      const fe = fusedEngine;
      const m = await measure(
        async () => {
          fusedEngineScores = Float64Array.from(await fe.computeScore(pairs));
        },
        { runs, warmup: () => fe.computeScore(pairs.slice(0, spec.warmupPairs)) },
      );
      rows.splice(1, 0, row(section, group, CONFIG.engineFused, n, m, engineNotes));
      if (fusedBest.row)
        fusedBest.row.configuration = fusedBest.row.configuration.replace(CONFIG.limitFusedPrefix, `${CONFIG.limitFusedPrefix} (best)`);
    }
  }
  limitRow.baseline = true;
  await fusedEngine?.close();
  await fusedRunner?.close();
  await engine.close();

  const refPlan = fixedRowsPlan(`reference plan: ${spec.referenceRows} rows/batch`, lengths, spec.referenceRows, spec.referencePadMultiple);
  if (spec.reference) {
    const ref = await runPlan(
      runner,
      refPlan,
      `reference plan: length-sorted, ${spec.referenceRows} rows/batch${spec.referencePadMultiple > 1 ? `, pad ×${spec.referencePadMultiple}` : ''}, main thread`,
      runs,
    );
    rows.push(ref);
    // FlagEmbedding end to end: tokenize everything first, then the plan.
    const refEnd: Measurement = { seconds: mTok.seconds + ref.seconds, runs: [], warmupSeconds: 0 };
    rows.push(
      row(
        section,
        group,
        'reference end to end: tokenize all, then the reference plan',
        n,
        refEnd,
        'tokenizer median + reference plan median (derived, not a separate run)',
      ),
    );
  }
  await runner.close();

  // --- the engine's device thread (worker), the engine's hand-off ---
  if (spec.deviceThread) {
    const wr = await WorkerThreadRunner.open(feeding, threads);
    let freshWorker = true;
    for (const [plan, label] of [
      [engPlan, "engine's plan through the engine's device thread (2 in flight)"],
      [makePlan(bestSpec, lengths), `${planName(bestSpec)} through the engine's device thread (2 in flight)`],
    ] as const) {
      const batches = batchesOf(plan);
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
      const x = row(section, group, label, n, m);
      scored.push({ row: x, scores: () => scores, notes: (diff) => `${plan.batches.length} batches, max |Δscore| vs engine ${diff}` });
      rows.push(x);
      log(`${label}: ${fmt(x.pairsPerSecond)} pairs/s`);
    }
    await wr.close();
  }

  // --- the engine given the best plan's bounds (when they are not its defaults) ---
  const bounds = engineBounds(bestSpec);
  if (spec.tunedEngine && (bounds.batchSize !== engineLimits.batchSize || bounds.maxBatchTokens !== engineLimits.maxBatchTokens)) {
    const tuned = open(spec.model.dir, bounds);
    await tuned.ready();
    const m = await measure(() => tuned.computeScore(pairs), {
      runs: spec.diagnosticRuns,
      warmup: () => tuned.computeScore(pairs.slice(0, spec.warmupPairs)),
    });
    await tuned.close();
    const x = row(
      section,
      group,
      `engine: computeScore, batchSize ${bounds.batchSize}, maxBatchTokens ${bounds.maxBatchTokens}`,
      n,
      m,
      `the best limit plan's bounds (${planName(bestSpec)}) as engine options`,
    );
    rows.push(x);
    log(`${x.configuration}: ${fmt(x.pairsPerSecond)} pairs/s`);
  } else if (spec.tunedEngine) {
    notes.push(
      `**${group}**: the best limit plan (${planName(bestSpec)}) has the engine's default bounds (batchSize ${engineLimits.batchSize}, maxBatchTokens ${engineLimits.maxBatchTokens}): no separate tuned-engine row.`,
    );
  }

  // --- transformers.js ---
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
    const x = row(section, group, 'transformers.js: its tokenizer + model, batches of 32 in input order', n, m);
    scored.push({ row: x, scores: () => scores, notes: (diff) => `padding + truncation to 512; max |Δscore| vs engine ${diff}` });
    rows.push(x);
    metric('max |Δscore| engine vs transformers.js', e(maxAbsDiff(engineScores, scores)));
    log(`transformers.js ${fmt(x.pairsPerSecond)} pairs/s`);
  }

  // --- score differences, now that the engine's scores are known ---
  let worstDiff = 0;
  for (const s of scored) {
    const diff = maxAbsDiff(engineScores, s.scores());
    if (!s.row.configuration.includes('fused graph') && !s.row.configuration.startsWith('transformers.js'))
      worstDiff = Math.max(worstDiff, diff);
    s.row.notes = s.notes(e(diff));
  }

  // --- raw figures (ratios between rows are derived at render time: observations.ts) ---
  const engTk = planTokens(engPlan, lengths);
  const refTk = planTokens(refPlan, lengths);
  const bestTk = planTokens(makePlan(bestSpec, lengths), lengths);
  metric("padding efficiency, engine's plan", fmt(engTk.real / engTk.computed, 4), '', `${engTk.batches} batches`, true);
  metric('padding efficiency, reference plan', fmt(refTk.real / refTk.computed, 4), '', `${refTk.batches} batches`, true);
  metric(
    'padding efficiency, best limit plan',
    fmt(bestTk.real / bestTk.computed, 4),
    '',
    `${planName(bestSpec)}, ${bestTk.batches} batches`,
  );
  metric(TOKENIZER_TIME, fmt(mTok.seconds, 3), 's', `${textTokens} text tokens; median of ${runs}`);
  metric('encode path (inspectInputs: tokenize + template + truncation)', fmt(inspectSeconds, 3), 's', 'one run');
  const built = prepareBatches(encoded, engPlan, feeding).seconds;
  metric(TENSOR_TIME, fmt(built, 3), 's', 'one run');
  metric(
    'max |Δscore| engine vs every direct runtime run',
    e(worstDiff),
    '',
    `engine scores: mean ${fmt(mean(engineScores), 3)}, standard deviation ${fmt(std(engineScores), 3)}`,
  );
  if (spec.fused && fusedEngineScores.length) {
    const d = absDiffs(engineScores, fusedEngineScores);
    metric(FUSED_DIFF, e(d.max), '', `mean |Δ| ${e(d.mean)} over ${n} pairs (engine on the fused graph vs engine on the plain graph)`);
  }
  metric('real tokens per pair (mean)', fmt(engTk.real / n, 1));
  metric('1-min load average before / after', `${fmt(loadBefore, 2)} / ${fmt(load1(), 2)}`);
  return { rows, metrics, notes, ranking: limitSpecs.length ? limitSpecs : spec.limitPlans };
}

/** Max and mean absolute difference of two score lists of the same length. */
export function absDiffs(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  if (a.length !== b.length) return { max: Infinity, mean: Infinity };
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / Math.max(1, a.length) };
}
