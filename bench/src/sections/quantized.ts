/**
 * The int8 variant of an encoder (`onnx/model_quantized.onnx`, dynamic int8 MatMuls as onnxruntime's
 * `quantize_dynamic` writes them) against its fp32 graph, both through the engine
 * (`new FlagReranker(dir, { quantized: true })`), on a ranking set: several queries, each with its
 * own list of passages. Speed (timed alternating) and score drift: absolute differences, and whether
 * the ranking of each query's passages survives (Spearman correlation, top-10 overlap).
 */
import { FlagReranker, type Pair } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { alternate, fmt, row } from '../measure';
import type { BenchModel } from '../models';
import type { BenchContext, Metric, Row } from '../types';
import { absDiffs } from './compare';
import { INT8 } from './names';

export interface QuantizedSpec {
  section: string;
  group: string;
  /** A model directory with onnx/model.onnx and onnx/model_quantized.onnx. */
  model: BenchModel;
  queries: number;
  passagesPerQuery: number;
  threads: number;
  /** A/B rounds. */
  runs: number;
  warmupPairs: number;
  seed: number;
}

/** Ranks (1 = smallest), ties sharing their mean rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const r = new Float64Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation: Pearson's correlation of the ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da === 0 || db === 0 ? NaN : num / Math.sqrt(da * db);
}

/** Indices of the k highest values (ties: lower index first). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((x, y) => values[y] - values[x] || x - y)
    .slice(0, k);
}

/** Share of the top k of `a` that is also in the top k of `b`. */
export function topOverlap(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  const tb = new Set(topIndices(b, k));
  return topIndices(a, k).filter((i) => tb.has(i)).length / Math.min(k, a.length);
}

export async function compareQuantized(
  ctx: BenchContext,
  spec: QuantizedSpec,
): Promise<{ rows: Row[]; metrics: Metric[]; notes: string[] }> {
  const { section, group, threads } = spec;
  const log = (m: string) => ctx.log(`[${section} · ${group}] ${m}`);
  const corpus = makeCorpus(spec.seed, { lengths: 'realistic' });
  const pairs: Pair[] = [];
  for (let q = 0; q < spec.queries; q++) {
    const query = corpus.query();
    for (let p = 0; p < spec.passagesPerQuery; p++) pairs.push([query, corpus.passage()]);
  }
  const n = pairs.length;
  const options = { devices: ['cpu' as const], intraOpNumThreads: threads };
  const fp32 = new FlagReranker(spec.model.dir, options);
  const int8 = new FlagReranker(spec.model.dir, { ...options, quantized: true });
  await Promise.all([fp32.ready(), int8.ready()]);
  let a: number[] = [];
  let b: number[] = [];
  log(`fp32 / int8 alternating, ${spec.runs} round(s) on ${n} pairs…`);
  const alt = await alternate(
    [
      {
        name: 'fp32',
        run: async () => {
          a = await fp32.computeScore(pairs);
        },
        warmup: () => fp32.computeScore(pairs.slice(0, spec.warmupPairs)),
      },
      {
        name: 'int8',
        run: async () => {
          b = await int8.computeScore(pairs);
        },
        warmup: () => int8.computeScore(pairs.slice(0, spec.warmupPairs)),
      },
    ],
    spec.runs,
  );
  await Promise.all([fp32.close(), int8.close()]);
  const alternation = `${section}/${group}`;
  const rows: Row[] = [
    { ...row(section, group, INT8.fp32, n, alt.measurements[0], 'onnx/model.onnx', true), alternation },
    {
      ...row(
        section,
        group,
        INT8.int8,
        n,
        alt.measurements[1],
        'onnx/model_quantized.onnx (DynamicQuantizeLinear + MatMulInteger, int8 weights per tensor)',
      ),
      alternation,
    },
  ];
  for (const r of rows) log(`${r.configuration}: ${fmt(r.pairsPerSecond)} pairs/s`);

  const d = absDiffs(a, b);
  const rhos: number[] = [];
  const overlaps: number[] = [];
  for (let q = 0; q < spec.queries; q++) {
    const sa = a.slice(q * spec.passagesPerQuery, (q + 1) * spec.passagesPerQuery);
    const sb = b.slice(q * spec.passagesPerQuery, (q + 1) * spec.passagesPerQuery);
    rhos.push(spearman(sa, sb));
    overlaps.push(topOverlap(sa, sb, 10));
  }
  const meanOf = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const sd = Math.sqrt(meanOf(a.map((x) => (x - meanOf(a)) ** 2)));
  const metrics: Metric[] = [
    {
      group,
      name: INT8.maxDiff,
      value: fmt(d.max, 4),
      notes: `fp32 scores (logits): mean ${fmt(meanOf(a), 3)}, standard deviation ${fmt(sd, 3)}`,
    },
    {
      group,
      name: INT8.meanDiff,
      value: fmt(d.mean, 4),
      notes: `${fmt((100 * d.mean) / sd, 1)} % of the fp32 scores' standard deviation`,
      headline: true,
    },
    {
      group,
      name: INT8.spearman,
      value: fmt(meanOf(rhos), 4),
      notes: `lowest ${fmt(Math.min(...rhos), 4)}; ${spec.queries} queries × ${spec.passagesPerQuery} passages`,
      headline: true,
    },
    {
      group,
      name: INT8.overlap,
      value: fmt(meanOf(overlaps), 3),
      notes: `lowest ${fmt(Math.min(...overlaps), 2)}; the share of fp32's 10 best passages that int8 also ranks in its 10 best`,
      headline: true,
    },
  ];
  return {
    rows,
    metrics,
    notes: [
      `**${group}**: the generated model's weights are random (seeded), so its scores are spread less than a trained reranker's and int8's relative drift is not a prediction for a trained model: run the same check on the real checkpoint (\`rerank score --quantized\` vs without) before offering it.`,
    ],
  };
}
