import { resolve } from 'node:path';
import { defaultReport } from './report/markdown';
import { DEFAULT_SECTIONS, SECTIONS } from './sections';
import type { BenchOptions } from './types';

export const USAGE = `npm run bench -- [options]

  --quick               a short run (under a minute): MiniLM 64 pairs, two plans, small jobs, one timed run
  --complete            every configuration on every workload, base at 10,000 pairs too (hours on 2 cores)
  --sections a,b        sections to run, in order (default: all): ${SECTIONS.map((s) => s.id).join(', ')}
  --threads N           the runtime's intra-op thread count, everywhere (default 2)
  --runs K              timed runs per measurement, median reported (default 3; 1 with --quick)
  --out FILE            the Markdown report (default BENCHMARKS.md; bench/results/quick.md with --quick)
  --pairs N,M           encoder pair counts (default 2000,10000 for minilm, 2000 for base; 64 with --quick)
  --models a,b          encoder presets (default minilm,base; minilm with --quick)
  --cache-dir DIR       generated models (default .cache/bench-models)
  --report-from FILE    re-render the report and chart from saved results (bench/results/full.json)
  --help

Sections:
${SECTIONS.map((s) => `  ${s.id.padEnd(12)} ${s.summary}`).join('\n')}`;

function list(value: string | undefined, flag: string): string[] {
  if (!value) throw new Error(`${flag} needs a value`);
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function required(value: string | undefined, flag: string, what: string): string {
  if (!value) throw new Error(`${flag} needs ${what}`);
  return value;
}

function positive(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchOptions | 'help' {
  let quick = false;
  let complete = false;
  let sections: string[] | undefined;
  let threads = 2;
  let runs: number | undefined;
  let out: string | undefined;
  let pairCounts: number[] | undefined;
  let models: string[] | undefined;
  let cacheDir = '.cache/bench-models';
  let reportFrom: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--complete':
        complete = true;
        break;
      case '--sections':
        sections = list(value(), flag);
        break;
      case '--threads':
        threads = positive(value(), flag);
        break;
      case '--runs':
        runs = positive(value(), flag);
        break;
      case '--out':
        out = required(value(), flag, 'a file');
        break;
      case '--pairs':
        pairCounts = list(value(), flag).map((v) => positive(v, flag));
        break;
      case '--models':
        models = list(value(), flag);
        for (const m of models)
          if (!['tiny', 'minilm', 'base'].includes(m)) throw new Error(`--models: unknown encoder preset ${m} (tiny, minilm, base)`);
        break;
      case '--cache-dir':
        cacheDir = required(value(), flag, 'a directory');
        break;
      case '--report-from':
        reportFrom = required(value(), flag, 'a file');
        break;
      case '--help':
      case '-h':
        return 'help';
      default:
        throw new Error(`unknown argument ${argv[i]}\n\n${USAGE}`);
    }
  }
  const ids = sections ?? DEFAULT_SECTIONS;
  for (const id of ids)
    if (!SECTIONS.some((s) => s.id === id)) throw new Error(`unknown section ${id}; known: ${SECTIONS.map((s) => s.id).join(', ')}`);
  return {
    quick,
    complete,
    sections: ids,
    threads,
    runs: runs ?? (quick ? 1 : 3),
    out: resolve(out ?? defaultReport(quick ? 'quick' : 'full')),
    ...(out ? { outGiven: true } : {}),
    ...(reportFrom ? { reportFrom: resolve(reportFrom) } : {}),
    cacheDir: resolve(cacheDir),
    ...(pairCounts ? { pairCounts } : {}),
    ...(models ? { models } : {}),
  };
}
