/**
 * The reference fixtures: tiny random-weight checkpoints, the reference's own scores for them (one pair
 * per call), and their exports by scripts/export-onnx.py. python/reference/make_reference.py (.venv:
 * FlagEmbedding's four families, cached in .cache/reference) and make_reference_modern.py (.venv-modern:
 * ModernBERT by sentence-transformers' CrossEncoder, Qwen3-Reranker by its published usage, cached in
 * .cache/reference-modern). Made once per change of a script, the recipe or the pinned requirements.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const REFERENCE_DIR = process.env.RERANK_REFERENCE_DIR ?? join(ROOT, '.cache', 'reference');
const MODERN_REFERENCE_DIR = join(REFERENCE_DIR, '..', 'reference-modern');
const VENV = process.env.RERANK_PYTHON_VENV ?? join(ROOT, '.venv');
const MODERN_VENV = process.env.RERANK_MODERN_VENV ?? join(ROOT, '.venv-modern');
/** fp32 on CPU: the engine's score of a pair against FlagEmbedding's, per the issue. */
export const TOLERANCE = 1e-4;

export type Family = 'encoder' | 'llm' | 'layerwise' | 'lightweight' | 'qwen3';
export type Scores = number[] | number[][];

export interface ReferenceCase {
  name: string;
  /** Engine options in camelCase (as the CLI and the API take them under their own names). */
  options: Record<string, unknown>;
  pairs: [string, string][];
  /** FlagEmbedding's scores: one per pair, or one list per layer when several cutoff layers. */
  expected: Scores;
}

export interface ReferenceExport {
  dir: string;
  flags: string[];
  quantized: boolean;
  fused: boolean;
}

export interface ReferenceFixture {
  name: string;
  family: Family;
  /** The model kind within its family (ModernBERT, Qwen3-Reranker, ...): the report's rows; absent for FlagEmbedding's. */
  kind?: string;
  checkpoint: string;
  exports: Record<string, ReferenceExport>;
  cases: ReferenceCase[];
}

/** Runs the Python side (a no-op when cached) and reads every fixture. Fails, never skips, without it. */
export function loadReferenceFixtures(): ReferenceFixture[] {
  return [
    ...runFixtureScript(VENV, 'make_reference.py', REFERENCE_DIR, 'scripts/setup-python.sh'),
    ...runFixtureScript(MODERN_VENV, 'make_reference_modern.py', MODERN_REFERENCE_DIR, 'scripts/setup-python.sh --modern'),
  ];
}

function runFixtureScript(venv: string, script: string, out: string, setup: string): ReferenceFixture[] {
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `the reference fidelity suite needs the Python side (${python} is missing): run \`${setup}\` once; \`npm test\`'s pretest does it`,
    );
  }
  const run = spawnSync(python, [join(ROOT, 'python', 'reference', script), '--out', out], {
    encoding: 'utf8',
    timeout: 30 * 60_000,
    env: { ...process.env, TOKENIZERS_PARALLELISM: 'false', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
  });
  if (run.status !== 0) {
    throw new Error(
      `python/reference/${script} failed (exit ${run.status}${run.error ? `, ${run.error.message}` : ''}):\n${(run.stdout + run.stderr).slice(-4000)}`,
    );
  }
  const names = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as string[];
  return names.map((n) => JSON.parse(readFileSync(join(out, n, 'fixture.json'), 'utf8')) as ReferenceFixture);
}

/** Several layers come back as one list per layer; a single layer (or none asked) as a flat list. */
export function isPerLayer(s: Scores): s is number[][] {
  return Array.isArray(s[0]);
}

/** The largest |got - expected| over every pair (and layer); throws when the shapes differ. */
export function worstDifference(got: Scores, expected: Scores, what: string): number {
  const g = isPerLayer(got) ? got.flat() : got;
  const e = isPerLayer(expected) ? expected.flat() : expected;
  if (isPerLayer(got) !== isPerLayer(expected) || g.length !== e.length) {
    throw new Error(
      `${what}: got ${g.length} scores (per layer: ${isPerLayer(got)}), expected ${e.length} (per layer: ${isPerLayer(expected)})`,
    );
  }
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    if (!Number.isFinite(g[i])) throw new Error(`${what}: score ${i} is ${g[i]}`);
    worst = Math.max(worst, Math.abs(g[i] - e[i]));
  }
  return worst;
}

/** Worst differences per family (or model kind) and path, printed at the end and kept in .cache/reference/report.json. */
export class FidelityReport {
  readonly worst: Record<string, Record<string, number>> = {};

  add(name: string, path: string, diff: number): void {
    const row = (this.worst[name] ??= {});
    row[path] = Math.max(row[path] ?? 0, diff);
  }

  table(): string {
    const paths = [...new Set(Object.values(this.worst).flatMap((r) => Object.keys(r)))];
    const lines = [`| family / kind | ${paths.join(' | ')} |`, `|---|${paths.map(() => '---').join('|')}|`];
    for (const [family, row] of Object.entries(this.worst)) {
      lines.push(`| ${family} | ${paths.map((p) => (row[p] === undefined ? '–' : row[p].toExponential(1))).join(' | ')} |`);
    }
    return lines.join('\n');
  }
}
