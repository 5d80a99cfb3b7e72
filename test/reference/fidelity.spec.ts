/**
 * Reference fidelity: the references' own scores (FlagEmbedding 1.4 for its four families,
 * python/reference/make_reference.py; sentence-transformers' CrossEncoder for ModernBERT and
 * Qwen3-Reranker's published usage, make_reference_modern.py; one pair per call) against the same
 * checkpoints exported by scripts/export-onnx.py and scored by the engine, the `rerank score` command,
 * the sync API and a job, to 1e-4 on fp32 CPU. The corpus has unicode, CJK, an empty passage, a
 * passage far beyond max_length and a query longer than it (and pairs beyond 8,192 tokens for the
 * models that read that far).
 *
 * What the contract deliberately does not copy:
 * - light-weight: FlagEmbedding scores the i-th *requested* layer with lm_head[i], so a layer's score
 *   depends on which other layers a call asks for; a graph fixes one head per layer (the reference's
 *   head for the full `layers` request), so the reference is asked for all exported layers and a
 *   single-layer call through the API is compared with that layer's column.
 * - int8 graphs are a different model (quantized weights): they must load and score every pair, not
 *   match the reference.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoReranker, cliFlagName, type EngineOptionName, snakeName } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { waitFor } from '../support/processes';
import {
  FidelityReport,
  isPerLayer,
  loadReferenceFixtures,
  REFERENCE_DIR,
  ROOT,
  type ReferenceCase,
  type ReferenceFixture,
  type Scores,
  TOLERANCE,
  worstDifference,
} from './fixtures';

jest.setTimeout(30 * 60_000);

let fixtures: ReferenceFixture[] = [];
const report = new FidelityReport();
const FAMILIES = ['encoder', 'llm', 'layerwise', 'lightweight', 'qwen3'] as const;
const of = (family: string) => fixtures.filter((f) => f.family === family);

beforeAll(() => {
  fixtures = loadReferenceFixtures();
});

afterAll(() => {
  if (!Object.keys(report.worst).length) return;
  mkdirSync(REFERENCE_DIR, { recursive: true });
  writeFileSync(join(REFERENCE_DIR, 'report.json'), JSON.stringify(report.worst, null, 2));
  console.log(`reference fidelity, worst |difference| per family and path:\n${report.table()}`);
});

function expectClose(got: Scores, c: ReferenceCase, what: string, fx: ReferenceFixture, path: string): void {
  const diff = worstDifference(got, c.expected, what);
  report.add(fx.kind ?? fx.family, path, diff);
  if (diff > TOLERANCE) throw new Error(`${what}: worst difference ${diff} > ${TOLERANCE}`);
}

describe('engine', () => {
  test.each(FAMILIES)('%s: every export and case equals its reference to 1e-4', async (family) => {
    expect(of(family).length).toBeGreaterThan(0);
    for (const fx of of(family)) {
      for (const [name, ex] of Object.entries(fx.exports)) {
        const reranker = await AutoReranker.fromFinetuned(ex.dir, { devices: 'cpu' });
        try {
          for (const c of fx.cases) {
            const got = await reranker.computeScore(c.pairs, c.options);
            expectClose(got, c, `${fx.name}/${name} "${c.name}"`, fx, ex.fused ? 'engine (fused)' : 'engine');
          }
        } finally {
          await reranker.close();
        }
        if (ex.quantized) {
          // int8 is another model: it loads and scores every pair, finitely.
          const q = await AutoReranker.fromFinetuned(ex.dir, { devices: 'cpu', quantized: true });
          try {
            const c = fx.cases[0];
            const got = await q.computeScore(c.pairs, c.options);
            const flat = isPerLayer(got) ? got.flat() : got;
            expect(flat.length).toBe(isPerLayer(c.expected) ? c.expected.flat().length : c.expected.length);
            expect(flat.every(Number.isFinite)).toBe(true);
          } finally {
            await q.close();
          }
        }
      }
    }
  });
});

describe('qwen3: the sequence-classification conversion', () => {
  test("its one logit (lm_head[yes] - lm_head[no]) scores as the causal model's l_yes - l_no: the same ranking", async () => {
    const scoresOf = async (name: string) => {
      const fx = fixtures.find((f) => f.name === name);
      if (!fx) throw new Error(`no fixture ${name}`);
      const reranker = await AutoReranker.fromFinetuned(fx.exports.model.dir, { devices: 'cpu' });
      try {
        return (await reranker.computeScore(fx.cases[0].pairs, { ...fx.cases[0].options, normalize: false })) as number[];
      } finally {
        await reranker.close();
      }
    };
    const causal = await scoresOf('qwen3-reranker');
    const seqCls = await scoresOf('qwen3-reranker-seq-cls');
    expect(worstDifference(seqCls, causal, 'seq-cls against causal')).toBeLessThan(TOLERANCE);
    const ranking = (s: number[]) => s.map((_, i) => i).sort((a, b) => s[b] - s[a]);
    expect(ranking(seqCls)).toEqual(ranking(causal));
  });
});

const BIN = join(ROOT, 'bin', 'rerank.js');

/** The case's options as `rerank score` flags (the contract's names: lists comma separated, objects as JSON). */
function cliArgs(options: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    const flag = `--${cliFlagName(k as EngineOptionName)}`;
    if (typeof v === 'boolean') args.push(v ? flag : `--no-${flag.slice(2)}`);
    else args.push(`${flag}=${Array.isArray(v) ? v.join(',') : typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v)}`);
  }
  return args;
}

describe('rerank score (CLI)', () => {
  test.each(FAMILIES)('%s: every export loads; every case equals its reference to 1e-4', (family) => {
    expect(of(family).length).toBeGreaterThan(0);
    for (const fx of of(family)) {
      for (const [name, ex] of Object.entries(fx.exports)) {
        for (const c of fx.cases) {
          const input = c.pairs.map(([query, passage]) => JSON.stringify({ query, passage })).join('\n') + '\n';
          const run = spawnSync(process.execPath, [BIN, 'score', '--model', ex.dir, '--devices', 'cpu', ...cliArgs(c.options)], {
            input,
            encoding: 'utf8',
            timeout: 120_000,
          });
          if (run.status !== 0) throw new Error(`${fx.name}/${name} "${c.name}": rerank score exited ${run.status}: ${run.stderr}`);
          const lines = run.stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as { index: number; score: number | number[] });
          expect(lines.map((l) => l.index)).toEqual(c.pairs.map((_, i) => i));
          const perLayer = Array.isArray(lines[0].score);
          const got: Scores = perLayer
            ? (lines[0].score as number[]).map((_, k) => lines.map((l) => (l.score as number[])[k]))
            : lines.map((l) => l.score as number);
          expectClose(got, c, `${fx.name}/${name} "${c.name}" (CLI)`, fx, 'CLI');
        }
        if (ex.quantized) {
          const c = fx.cases[0];
          const run = spawnSync(
            process.execPath,
            [BIN, 'score', '--model', ex.dir, '--devices', 'cpu', '--quantized', ...cliArgs(c.options)],
            {
              input: JSON.stringify({ query: c.pairs[0][0], passage: c.pairs[0][1] }) + '\n',
              encoding: 'utf8',
              timeout: 120_000,
            },
          );
          if (run.status !== 0) throw new Error(`${fx.name}/${name} --quantized: rerank score exited ${run.status}: ${run.stderr}`);
          expect(JSON.parse(run.stdout.trim()).index).toBe(0);
        }
      }
    }
  });
});

/** The case's options as API fields (raw scores unless the case normalizes, as the reference's default). */
const apiOptions = (options: Record<string, unknown>) =>
  Object.fromEntries([['normalize', false], ...Object.entries(options).map(([k, v]) => [snakeName(k), v])]);

/** Queries in pair order, each with its passages (the fixtures' pairs are every query × every passage). */
function byQuery(pairs: [string, string][]): { query: string; passages: string[]; first: number }[] {
  const out: { query: string; passages: string[]; first: number }[] = [];
  pairs.forEach(([q, p], i) => {
    if (out.length && out[out.length - 1].query === q) out[out.length - 1].passages.push(p);
    else out.push({ query: q, passages: [p], first: i });
  });
  return out;
}

describe('service: sync API and jobs', () => {
  let cluster: Cluster;
  const modelName = (fx: ReferenceFixture, exportName: string) => `${fx.name}-${exportName}`;

  beforeAll(async () => {
    const models = fixtures.flatMap((fx) =>
      Object.entries(fx.exports).map(([n, ex]) => ({ name: modelName(fx, n), path: ex.dir, family: fx.family })),
    );
    cluster = await Cluster.start({ models, env: { RERANK_SYNC_TIMEOUT_MS: '120000' } });
    await cluster.startWorkers('cpu');
  }, 10 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  /**
   * One layer per sync answer (relevance_score): multi-layer cases ask for their last layer and are
   * compared with that layer's reference column.
   */
  function singleLayer(c: ReferenceCase): ReferenceCase {
    if (!isPerLayer(c.expected)) return c;
    const layers = c.options.cutoffLayers as number[];
    return { ...c, options: { ...c.options, cutoffLayers: [layers[layers.length - 1]] }, expected: c.expected[c.expected.length - 1] };
  }

  test.each(FAMILIES)('%s: POST /v1/rerank equals its reference to 1e-4', async (family) => {
    expect(of(family).length).toBeGreaterThan(0);
    for (const fx of of(family)) {
      for (const name of Object.keys(fx.exports)) {
        for (const c0 of fx.cases) {
          const c = singleLayer(c0);
          const got: number[] = new Array(c.pairs.length);
          for (const group of byQuery(c.pairs)) {
            const r = await cluster.client.post('/v1/rerank', {
              model: modelName(fx, name),
              query: group.query,
              documents: group.passages,
              top_n: group.passages.length,
              ...apiOptions(c.options),
            });
            if (r.status !== 200) throw new Error(`${fx.name}/${name} "${c.name}": /v1/rerank answered ${r.status}: ${r.text}`);
            for (const res of r.body.results as { index: number; relevance_score: number }[])
              got[group.first + res.index] = res.relevance_score;
          }
          expectClose(got, c, `${fx.name}/${name} "${c.name}" (sync API)`, fx, 'sync API');
        }
      }
    }
  });

  test.each(FAMILIES)('%s: a job (POST /v1/jobs) equals its reference to 1e-4', async (family) => {
    expect(of(family).length).toBeGreaterThan(0);
    for (const fx of of(family)) {
      const name = Object.keys(fx.exports)[0];
      for (const c of fx.cases) {
        const groups = byQuery(c.pairs);
        const created = await cluster.client.post('/v1/jobs', {
          model: modelName(fx, name),
          queries: groups.map((g, i) => ({ id: `q${i}`, query: g.query, documents: g.passages })),
          top_k: Math.max(...groups.map((g) => g.passages.length)),
          ...apiOptions(c.options),
        });
        if (created.status !== 202) throw new Error(`${fx.name} "${c.name}": /v1/jobs answered ${created.status}: ${created.text}`);
        const id = created.body.id as string;
        await waitFor(
          `job ${id} completed`,
          async () => {
            const s = await cluster.client.get(`/v1/jobs/${id}`);
            if (s.body.status === 'failed') throw new Error(`job ${id} failed: ${s.text}`);
            return s.body.status === 'completed' ? true : undefined;
          },
          5 * 60_000,
          200,
        );
        const results = await cluster.client.get(`/v1/jobs/${id}/results`);
        const perLayer = isPerLayer(c.expected);
        const flat: number[] = new Array(c.pairs.length);
        const layers: number[][] = perLayer ? (c.expected as number[][]).map(() => new Array(c.pairs.length)) : [];
        for (const q of results.body.results as { query_index: number; top_k: { index: number; score: number; scores?: number[] }[] }[]) {
          for (const d of q.top_k) {
            const at = groups[q.query_index].first + d.index;
            flat[at] = d.score;
            if (perLayer) d.scores!.forEach((s, k) => (layers[k][at] = s));
          }
        }
        expectClose(perLayer ? layers : flat, c, `${fx.name} "${c.name}" (job)`, fx, 'job');
      }
    }
  });
});
