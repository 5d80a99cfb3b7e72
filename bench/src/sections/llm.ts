/**
 * Section 2: the LLM family (decoder-only rerankers) on a generated decoder of realistic width:
 * the engine against the runtime's limit and the reference's plan (batches of 128 rows padded to a
 * multiple of 8). transformers.js has no model class for the generated decoder, so it is left out.
 */
import { makeCorpus } from '@rerank/model-gen';
import { benchModel } from '../models';
import type { BenchContext, Section, SectionResult } from '../types';
import { compareOnWorkload, planName, type PlanSpec } from './compare';
import { CORPUS_SEED } from './encoder';
import { deriveObservations } from './observations';

export const FULL_SWEEP: PlanSpec[] = [
  ...[1, 4, 16].map((value) => ({ kind: 'rows' as const, value, padMultiple: 1 })),
  { kind: 'tokens', value: 2048, padMultiple: 1 },
];
export const QUICK_SWEEP: PlanSpec[] = [4].map((value) => ({ kind: 'rows' as const, value, padMultiple: 1 }));

export const llmSection: Section = {
  id: 'llm',
  title: 'Engine, LLM family (decoder-only)',
  summary: 'FlagLLMReranker vs the runtime limit and the reference plan on a generated decoder',
  derive: deriveObservations,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick, threads, cacheDir } = ctx.options;
    const model = await benchModel(cacheDir, 'llm', 'decoder');
    ctx.log(
      `[llm] model decoder: ${(model.parameterCount / 1e6).toFixed(1)} M parameters${model.generatedSeconds ? `, generated in ${model.generatedSeconds.toFixed(1)} s` : ' (cached)'}`,
    );
    const count = quick ? 8 : 64;
    const runs = quick ? 1 : ctx.options.runs;
    const sweep = quick ? QUICK_SWEEP : FULL_SWEEP;
    const group = `decoder (${(model.parameterCount / 1e6).toFixed(0)} M), ${count} pairs`;
    const pairs = makeCorpus(CORPUS_SEED + 1, { lengths: 'realistic' }).pairs(count);
    const result = await compareOnWorkload(ctx, {
      section: 'llm',
      group,
      model,
      family: 'llm',
      pairs,
      threads,
      runs,
      diagnosticRuns: 1,
      warmupPairs: quick ? 2 : 16,
      limitPlans: sweep,
      referenceRows: 128,
      referencePadMultiple: 8,
      // The engine pads LLM batches to a multiple of 8 on GPUs only.
      enginePadMultiple: 1,
      reference: true,
      enginePlanOnRuntime: !quick,
      tunedEngine: !quick,
      deviceThread: false,
      transformersJs: false,
      alternate: true,
    });
    return {
      id: 'llm',
      title: this.title,
      description: [
        'A generated decoder (`@rerank/model-gen` preset `decoder`: 4 layers, hidden 1,024, 16 heads, intermediate 4,096, vocab 32,000; inputs `input_ids`, `attention_mask`, `position_ids`, output the pooled yes-logit `scores` [B]) scored by `FlagLLMReranker` with its defaults (prompt, `A: ` / `B: ` instructions, left padding; on the CPU batches are no longer padded to a multiple of 8, which the engine does on GPUs only).',
        "Rows as in the encoder section: the runtime limit over pre-built batches (engine's token ids, no padding multiple), the engine's own plan, and the reference plan (FlagEmbedding's LLM reranker: fixed batches of 128 rows after a length sort, padded to a multiple of 8). transformers.js is not run: it has no model class for this generated graph.",
        `${group}: the engine and the best limit plan timed alternating (${runs === 1 ? 'one round' : `${runs} rounds, A/B/A/B; the headline ratio is the median of the per-round ratios`}), the reference ${runs === 1 ? 'once' : `${runs} times (median)`}, the other rows once, after a warm-up; limit sweep: ${sweep.map(planName).join('; ')}.`,
      ],
      rows: result.rows,
      metrics: result.metrics,
      notes: result.notes,
    };
  },
};
