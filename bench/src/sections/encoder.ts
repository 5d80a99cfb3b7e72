/**
 * Section 1: the engine on the encoder family (cross-encoders), generated models of two real sizes,
 * a realistic length mix, against the runtime's limit, the reference's plan and transformers.js.
 */
import { makeCorpus, type PresetName } from '@rerank/model-gen';
import type { Pair } from '@rerank/engine';
import { defaultMaxBatchTokens } from '../../../libs/engine/src/options';
import { benchModel } from '../models';
import type { BenchContext, Metric, Row, Section, SectionResult } from '../types';
import { compareOnWorkload, planName, type PlanSpec } from './compare';
import { deriveObservations } from './observations';
import { compareQuantized } from './quantized';

export const CORPUS_SEED = 7;

const FULL_SWEEP: PlanSpec[] = [
  ...[1, 4, 16, 64].map((value) => ({ kind: 'rows' as const, value, padMultiple: 1 })),
  ...[512, 1024, 2048].map((value) => ({ kind: 'tokens' as const, value, padMultiple: 1 })),
];
/** Pairs of the quick run: small enough for the whole `npm run bench -- --quick` to take under a minute. */
export const QUICK_PAIRS = 64;
/** The int8 ranking set: queries × passages per query (each query its own passages). */
const INT8_SET = { full: { queries: 20, passagesPerQuery: 100 }, quick: { queries: 2, passagesPerQuery: 32 } };
const QUICK_SWEEP: PlanSpec[] = [
  { kind: 'rows', value: 4, padMultiple: 1 },
  { kind: 'tokens', value: 1024, padMultiple: 1 },
];

/** How much one workload (a model and a pair count) measures. */
type Depth =
  /** Everything, key rows timed `runs` times: the first model's first (smallest) pair count. */
  | 'detailed'
  /** A larger pair count of a model already measured: the engine against the best plan found there and the engine's plan. */
  | 'scale'
  /** Another model size: the two best plans of the first model, the engine's plan, the reference, transformers.js; one timed run each. */
  | 'model';

export const encoderSection: Section = {
  id: 'engine',
  title: 'Engine, encoder family (cross-encoders)',
  summary: 'FlagReranker vs the runtime limit, the reference plan and transformers.js on MiniLM-L6 and base-size encoders',
  derive: deriveObservations,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick, threads, cacheDir, complete } = ctx.options;
    const presets = (ctx.options.models ?? (quick ? ['minilm'] : ['minilm', 'base'])) as PresetName[];
    const defaultCounts = (preset: PresetName) => (quick ? [QUICK_PAIRS] : preset === 'base' && !complete ? [2000] : [2000, 10000]);
    const rows: Row[] = [];
    const metrics: Metric[] = [];
    const notes: string[] = [];
    const describe: string[] = [];
    let firstRanking: PlanSpec[] | undefined;
    for (const [pi, preset] of presets.entries()) {
      const counts = [...(ctx.options.pairCounts ?? defaultCounts(preset))].sort((a, b) => a - b);
      const model = await benchModel(cacheDir, 'encoder', preset);
      ctx.log(
        `[engine] model ${preset}: ${(model.parameterCount / 1e6).toFixed(1)} M parameters${model.generatedSeconds ? `, generated in ${model.generatedSeconds.toFixed(1)} s` : ' (cached)'}`,
      );
      // The fused graph and the int8 variant: on the first model (every model with --complete).
      const variants = pi === 0 || complete;
      const fused = variants ? await benchModel(cacheDir, 'encoder', preset, 1, 'fused') : undefined;
      const all: Pair[] = makeCorpus(CORPUS_SEED, { lengths: 'realistic' }).pairs(counts[counts.length - 1]);
      let ranking: PlanSpec[] | undefined;
      for (const count of counts) {
        const depth: Depth = complete || (!ranking && !firstRanking) ? 'detailed' : ranking ? 'scale' : 'model';
        const sweep =
          depth === 'detailed'
            ? quick
              ? QUICK_SWEEP
              : FULL_SWEEP
            : depth === 'scale'
              ? (ranking as PlanSpec[]).slice(0, 1)
              : (firstRanking as PlanSpec[]).slice(0, 2);
        const runs = depth === 'detailed' ? ctx.options.runs : 1;
        const group = `${preset} (${(model.parameterCount / 1e6).toFixed(0)} M), ${count.toLocaleString('en-US')} pairs`;
        const withFused = depth === 'detailed' && fused !== undefined && !ranking;
        const result = await compareOnWorkload(ctx, {
          section: 'engine',
          group,
          model,
          family: 'encoder',
          pairs: all.slice(0, count),
          threads,
          runs,
          diagnosticRuns: 1,
          warmupPairs: quick ? 16 : 256,
          limitPlans: sweep,
          referenceRows: 128,
          referencePadMultiple: 1,
          enginePadMultiple: 1,
          // With 64 pairs the reference's one batch of 128 rows says nothing: its padding efficiency only.
          reference: depth !== 'scale' && !quick,
          enginePlanOnRuntime: !quick && (depth === 'detailed' || complete),
          tunedEngine: depth === 'detailed' && !quick,
          deviceThread: depth === 'detailed' && !quick,
          transformersJs: depth === 'detailed' || complete,
          alternate: depth === 'detailed',
          ...(withFused ? { fused, fusedPlans: quick ? 1 : 2 } : {}),
        });
        rows.push(...result.rows);
        metrics.push(...result.metrics);
        notes.push(...result.notes);
        const what =
          depth === 'detailed'
            ? `every configuration; the engine and the best limit plan${withFused ? ' (and both on the fused graph)' : ''} timed alternating, ${runs === 1 ? 'one round' : `${runs} rounds (A/B/A/B; medians, and the median of the per-round ratios)`}; the reference plan and transformers.js timed ${runs === 1 ? 'once' : `${runs} times (median)`}, the other rows once`
            : depth === 'scale'
              ? 'the engine against the best limit plan of the smaller set (the reference and transformers.js score batch by batch, so their pairs/s does not depend on the count); each timed once'
              : `the two best limit plans of the first model, the reference${complete ? ", the engine's plan and transformers.js" : ''}, each timed once`;
        describe.push(
          `**${group}**: ${what}, after a warm-up (the engine and transformers.js: the first ${quick ? 16 : 256} pairs; the direct plans share one session, warmed once on the first plan's widest batches, that many pairs). Limit plans: ${sweep.map(planName).join('; ')}.`,
        );
        ranking ??= result.ranking;
      }
      if (variants) {
        const int8Model = await benchModel(cacheDir, 'encoder', preset, 1, 'int8');
        const set = quick ? INT8_SET.quick : INT8_SET.full;
        const group = `${preset} (${(model.parameterCount / 1e6).toFixed(0)} M), int8 vs fp32, ${set.queries} queries × ${set.passagesPerQuery} passages`;
        const q = await compareQuantized(ctx, {
          section: 'engine',
          group,
          model: int8Model,
          ...set,
          threads,
          runs: ctx.options.runs,
          warmupPairs: quick ? 16 : 128,
          seed: CORPUS_SEED + 2,
        });
        rows.push(...q.rows);
        metrics.push(...q.metrics);
        notes.push(...q.notes);
        describe.push(
          `**${group}**: the engine on the plain graph and on its int8 variant (\`quantized: true\`), the same model directory, \`makeCorpus(${CORPUS_SEED + 2}, { lengths: 'realistic' })\`: ${set.queries} queries, each with its own ${set.passagesPerQuery} passages; timed alternating, ${ctx.options.runs === 1 ? 'one round' : `${ctx.options.runs} rounds`}. Drift: absolute score differences over all pairs, and per query the Spearman correlation of the two rankings and the overlap of their top 10.`,
        );
      }
      firstRanking ??= ranking;
    }
    return {
      id: 'engine',
      title: this.title,
      description: [
        'Generated BERT-style cross-encoders (`@rerank/model-gen` presets `minilm`: 6 layers, hidden 384, 12 heads, vocab 30,522; `base`: 12 layers, hidden 768) and ' +
          `\`makeCorpus(${CORPUS_SEED}, { lengths: 'realistic' })\` pairs (queries 3–20 words, passages 20–400 words, long-tailed). ` +
          'Every configuration scores the same pairs with the same model file and the same fixed intra-op thread count.',
        "- **engine**: `FlagReranker.computeScore(pairs)` with default options (only `devices: ['cpu']` and `intraOpNumThreads` set), tokenization included.\n" +
          "- **fused graph** (first model): the same weights written as onnxruntime's fused contrib operators (`Attention`, `SkipLayerNormalization`, `BiasGelu`; `makeTestModel({ fused: true })`, the graph onnxruntime's transformer optimizer makes of an export): the engine and the runtime limit (the best plans of the plain sweep) on it, timed in the same alternation as the plain pair. This pushes the limit itself; its score difference to the plain graph is reported.\n" +
          "- **runtime limit**: the engine's exact token ids (`inspectInputs`, untimed) padded with the engine's `buildBatchTensors` (untimed), then one `session.run` per batch on the main thread with the engine's session options (`graphOptimizationLevel: 'all'`, sequential, 1 inter-op thread, the fixed intra-op threads). Every plan is timed once and listed; the fastest (the engine's own plan on the runtime is a candidate too) is the limit (the baseline, ratio 1) and is timed again, alternating with the engine (A/B/A/B): this machine's speed drifts by 10–25 % over minutes, so the headline *engine / runtime limit* is the median of the per-round ratios. Every run's scores are compared with the engine's.\n" +
          `- **engine's plan on the runtime**: the engine's own batches (chunks of 256 then 4,096 pairs, each length-sorted and cut at 128 rows / ${defaultMaxBatchTokens([{ kind: 'cpu' }])} padded tokens, the engine's CPU defaults) through the same direct runtime: the cost of the plan alone. Also through the engine's own device thread (\`DeviceSession\`, 2 batches in flight), to isolate the worker-thread hand-off.\n` +
          "- **reference plan**: FlagEmbedding's `compute_score`: tokenize everything, sort by length (longest first), fixed batches of 128 rows, padded to the longest of each batch, through the same runtime (pre-built, untimed tensors); the *end to end* row adds the time to tokenize every pair first.\n" +
          "- **transformers.js**: `AutoTokenizer` + `AutoModelForSequenceClassification` (`dtype: 'fp32'`, the same session options) on the same model directory, batches of 32 pairs in input order, `padding: true, truncation: true, max_length: 512`, tokenization included.",
        ...describe,
      ],
      rows,
      metrics,
      notes,
    };
  },
};
