/**
 * The kinds beyond FlagEmbedding's four, one row group each: a ModernBERT-shaped cross-encoder
 * (`FlagReranker`, longest_first truncation) and a Qwen3-shaped reranker (`Qwen3Reranker`, the chat
 * prompt), each the engine against the runtime's limit on pre-built batches of the engine's token ids.
 */
import { makeCorpus } from '@rerank/model-gen';
import { benchModel, type BenchModel } from '../models';
import type { BenchContext, Metric, Row, Section, SectionResult } from '../types';
import { compareOnWorkload, planName, type PlanSpec } from './compare';
import { CORPUS_SEED } from './encoder';
import { FULL_SWEEP } from './llm';
import { deriveObservations } from './observations';

/** Quick: a fixed-rows plan and the engine's own token budget (512 on the CPU), so the limit is not one plan's. */
const QUICK_SWEEP: PlanSpec[] = [
  { kind: 'rows', value: 4, padMultiple: 1 },
  { kind: 'tokens', value: 512, padMultiple: 1 },
];

interface Kind {
  name: string;
  family: 'encoder' | 'qwen3';
  model: (cacheDir: string) => Promise<BenchModel>;
  shape: string;
}

const KINDS: Kind[] = [
  {
    name: 'ModernBERT-shaped',
    family: 'encoder',
    model: (dir) => benchModel(dir, 'encoder', 'base', 1, 'modernbert'),
    shape:
      'preset `base` with `--encoder-style modernbert`: 12 layers, hidden 768, 12 heads, rotary positions, global attention every third layer and a 32-token window in the others, a GELU-gated MLP, no token types',
  },
  {
    name: 'Qwen3-shaped',
    family: 'qwen3',
    model: (dir) => benchModel(dir, 'qwen3', 'decoder', 1, 'qwen3'),
    shape:
      'preset `decoder` with `--family qwen3 --qwen3-output scores`: 4 layers, hidden 1,024, 16 heads, vocab 32,000, rotary positions, RMSNorm with q / k norms, SwiGLU; output l_yes − l_no [B]',
  },
];

export const kindsSection: Section = {
  id: 'kinds',
  title: 'Engine, ModernBERT and Qwen3-Reranker kinds',
  summary: 'a ModernBERT-shaped cross-encoder and a Qwen3-shaped reranker vs the runtime limit',
  derive: deriveObservations,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick, threads, cacheDir } = ctx.options;
    const count = quick ? 16 : 256;
    const runs = quick ? 1 : ctx.options.runs;
    const sweep = quick ? QUICK_SWEEP : FULL_SWEEP;
    const rows: Row[] = [];
    const metrics: Metric[] = [];
    const notes: string[] = [];
    const description: string[] = [];
    for (const kind of KINDS) {
      const model = await kind.model(cacheDir);
      const group = `${kind.name} (${(model.parameterCount / 1e6).toFixed(0)} M), ${count} pairs`;
      ctx.log(`[kinds] ${group}${model.generatedSeconds ? `, generated in ${model.generatedSeconds.toFixed(1)} s` : ' (cached)'}`);
      const pairs = makeCorpus(CORPUS_SEED + 2, { lengths: 'realistic' }).pairs(count);
      const result = await compareOnWorkload(ctx, {
        section: 'kinds',
        group,
        model,
        family: kind.family,
        pairs,
        threads,
        runs,
        diagnosticRuns: 1,
        warmupPairs: quick ? 2 : 16,
        limitPlans: sweep,
        referenceRows: 128,
        referencePadMultiple: 1,
        enginePadMultiple: 1,
        reference: false,
        enginePlanOnRuntime: !quick,
        tunedEngine: false,
        deviceThread: false,
        transformersJs: false,
        alternate: true,
      });
      rows.push(...result.rows);
      metrics.push(...result.metrics);
      notes.push(...result.notes);
      description.push(`${group}: ${kind.shape}.`);
    }
    description.push(
      `The engine with its defaults against the runtime's limit (the same graph on the main thread over pre-built batches of the engine's token ids), timed alternating (${runs === 1 ? 'one round' : `${runs} rounds`}); limit sweep: ${sweep.map(planName).join('; ')}.`,
    );
    return { id: 'kinds', title: this.title, description, rows, metrics, notes };
  },
};
