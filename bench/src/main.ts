/**
 * `npm run bench`: runs the selected sections, then writes the Markdown report, the chart (SVG,
 * report/chart.ts) and the raw results (JSON, bench/results/<mode>.json). Progress goes
 * to stderr. `--report-from bench/results/full.json` re-renders a report from saved results.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs, USAGE } from './args';
import { machineInfo } from './machine';
import { now, withRatios } from './measure';
import { chartSvg } from './report/chart';
import { defaultReport, renderMarkdown, type RunRecord } from './report/markdown';
import { SECTIONS } from './sections';
import type { BenchContext, SectionResult } from './types';

const ROOT = resolve(__dirname, '../../..');

function commandLine(argv: readonly string[]): string {
  const quoted = argv.map((a) => (/^[\w.,=/:@-]+$/.test(a) ? a : JSON.stringify(a)));
  return process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${quoted.length ? ` -- ${quoted.join(' ')}` : ''}`
    : `node dist/bench/src/main.js${quoted.length ? ` ${quoted.join(' ')}` : ''}`;
}

/**
 * Writes the chart (SVG), the JSON and the Markdown of a run. The default report of a mode
 * (BENCHMARKS.md, bench/results/quick.md) keeps its files under bench/charts and bench/results; a run
 * with `--out <name>.md` (a single section, say) writes <name>.json and <name>.svg beside it
 * and leaves those of the last full and quick runs alone.
 */
function writeReport(record: RunRecord, out: string, log: (m: string) => void, renderedFrom?: string, own = false): void {
  const base = own
    ? out.replace(/\.md$/, '')
    : join(ROOT, 'bench', 'charts', record.mode === 'quick' ? 'pairs-per-second-quick' : 'pairs-per-second');
  record.chart = `${base}.svg`;
  mkdirSync(dirname(base), { recursive: true });
  const rows = record.results.flatMap((r) => r.rows);
  const svg = chartSvg(
    rows,
    'Pairs per second by configuration',
    `${record.machine.cpuModel}, ${record.machine.cores} cores, ${record.options.threads} intra-op threads, ${record.started.slice(0, 10)}, ${record.command}`,
  );
  writeFileSync(`${base}.svg`, svg);
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  // The measurements as measured (a re-rendered report leaves them alone).
  if (!renderedFrom)
    writeFileSync(
      own ? `${base}.json` : join(resultsDir, `${record.mode}.json`),
      JSON.stringify({ ...record, chart: undefined }, null, 2) + '\n',
    );
  const otherPath = join(resultsDir, `${record.mode === 'quick' ? 'full' : 'quick'}.json`);
  const other = !own && existsSync(otherPath) ? (JSON.parse(readFileSync(otherPath, 'utf8')) as RunRecord) : undefined;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderMarkdown(record, out, other, renderedFrom));
  log(`wrote ${out}, ${base}.svg`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options;
  try {
    options = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const start = now();
  const ctx: BenchContext = {
    options,
    log: (m) => process.stderr.write(`[bench ${((now() - start) / 60).toFixed(1)} min] ${m}\n`),
  };
  if (options.reportFrom) {
    const record = JSON.parse(readFileSync(options.reportFrom, 'utf8')) as RunRecord;
    for (const r of record.results) {
      withRatios(r.rows);
      SECTIONS.find((s) => s.id === r.id)?.derive?.(r);
    }
    const out = options.outGiven ? options.out : resolve(ROOT, defaultReport(record.mode));
    writeReport(record, out, ctx.log, relative(ROOT, options.reportFrom));
    return 0;
  }
  const mode = options.quick ? 'quick' : 'full';
  const started = new Date().toISOString();
  const loadBefore = loadavg();
  ctx.log(
    `${mode} run: sections ${options.sections.join(', ')}, ${options.threads} threads, ${options.runs} timed run(s); load ${loadBefore[0].toFixed(2)}`,
  );
  const results: SectionResult[] = [];
  let failed = false;
  for (const id of options.sections) {
    const section = SECTIONS.find((s) => s.id === id);
    if (!section) continue;
    try {
      const result = await section.run(ctx);
      withRatios(result.rows);
      section.derive?.(result);
      results.push(result);
    } catch (e) {
      failed = true;
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      ctx.log(`section ${id} failed: ${message}`);
      results.push({
        id,
        title: section.title,
        description: [],
        rows: [],
        metrics: [],
        notes: [`**The section failed**: ${message.split('\n')[0]}`],
      });
    }
  }
  const record: RunRecord = {
    mode,
    command: commandLine(argv),
    started,
    durationSeconds: now() - start,
    options,
    machine: machineInfo(),
    loadBefore,
    loadAfter: loadavg(),
    results,
    chart: '',
  };
  writeReport(record, options.out, ctx.log, undefined, options.outGiven === true);
  ctx.log(`done in ${((now() - start) / 60).toFixed(1)} min (load ${record.loadAfter[0].toFixed(2)} after)`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
