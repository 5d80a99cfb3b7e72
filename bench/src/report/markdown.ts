/** BENCHMARKS.md: the machine, the command, a summary, a table per section group, the chart. */
import { dirname, relative } from 'node:path';
import type { MachineInfo } from '../machine';
import { fmt } from '../measure';
import type { BenchOptions, Metric, Row, SectionResult } from '../types';

/** Where a mode's report goes unless `--out` says otherwise (relative to the repository). */
export function defaultReport(mode: RunRecord['mode']): string {
  return mode === 'quick' ? 'bench/results/quick.md' : 'BENCHMARKS.md';
}

/** Everything one `npm run bench` produced (also written as JSON next to the chart). */
export interface RunRecord {
  mode: 'full' | 'quick';
  command: string;
  started: string;
  durationSeconds: number;
  options: BenchOptions;
  machine: MachineInfo;
  loadBefore: number[];
  loadAfter: number[];
  results: SectionResult[];
  /** Chart file, absolute. */
  chart: string;
}

const cell = (s: string | number) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(head: string[], body: (string | number)[][], align?: ('l' | 'r')[]): string {
  const sep = head.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [head, sep, ...body].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

function groups<T extends { group: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const list = m.get(it.group) ?? [];
    list.push(it);
    m.set(it.group, list);
  }
  return m;
}

const pps = (v: number) => (v >= 100 ? fmt(v, 1) : fmt(v, 2));

function rowsTable(rows: readonly Row[]): string {
  const baseline = rows.find((r) => r.baseline);
  return table(
    ['configuration', 'pairs', 'seconds', 'pairs/s', `× ${baseline ? 'baseline' : '—'}`, "others' CPU", 'notes'],
    rows.map((r) => [
      r.baseline ? `**${r.configuration}**` : r.configuration.startsWith('engine:') ? `**${r.configuration}**` : r.configuration,
      r.pairs,
      `${fmt(r.seconds, 3)}${r.runs && r.runs.length > 1 ? ` (runs ${r.runs.map((x) => fmt(x, 2)).join(', ')})` : ''}`,
      pps(r.pairsPerSecond),
      r.ratio === undefined ? '' : fmt(r.ratio, 3),
      r.foreignCores === undefined
        ? ''
        : `${fmt(r.foreignCores, 2)}${r.discarded ? ` (${r.discarded} run${r.discarded > 1 ? 's' : ''} redone)` : ''}`,
      r.notes,
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

function metricsTable(metrics: readonly Metric[]): string {
  return table(
    ['figure', 'value', 'notes'],
    metrics.map((m) => [m.name, `${m.value}${m.unit ? ` ${m.unit}` : ''}`, m.notes ?? '']),
    ['l', 'r', 'l'],
  );
}

/** One row per group: the engine, the baseline, and every headline metric. */
function summaryTable(result: SectionResult): string | undefined {
  const byGroup = groups(result.rows);
  const metricGroups = groups(result.metrics);
  const names: string[] = [];
  for (const m of result.metrics) if (m.headline && !names.includes(m.name)) names.push(m.name);
  if (byGroup.size === 0) return undefined;
  const body = [...byGroup.entries()].map(([group, rows]) => {
    const engine = rows.find((r) => r.configuration.startsWith('engine:'));
    const baseline = rows.find((r) => r.baseline);
    const ms = metricGroups.get(group) ?? [];
    return [
      group,
      engine ? pps(engine.pairsPerSecond) : '',
      baseline
        ? `${pps(baseline.pairsPerSecond)} (${baseline.configuration.replace(/^runtime limit \(best\): /, '').replace(/, main thread.*$/, '')})`
        : '',
      ...names.map((n) => {
        const m = ms.find((x) => x.name === n);
        return m ? `${m.value}${m.unit && m.unit !== '×' ? ` ${m.unit}` : ''}` : '';
      }),
    ];
  });
  return table(['workload', 'engine pairs/s', 'baseline pairs/s', ...names], body, ['l', 'r', 'l', ...names.map(() => 'r' as const)]);
}

function machineTable(m: MachineInfo): string {
  return table(
    ['', ''],
    [
      ['CPU', m.cpuModel],
      ['logical cores', m.cores],
      ['memory', `${fmt(m.memoryGiB, 1)} GiB`],
      ['Node.js', m.node],
      ['onnxruntime-node', m.onnxruntime],
      ['@huggingface/transformers', m.transformersJs],
      ['kernel', m.kernel],
    ],
  );
}

function runSummary(run: RunRecord): string {
  const lines: string[] = [];
  for (const res of run.results) {
    for (const [group, rows] of groups(res.rows)) {
      const ms = res.metrics.filter((x) => x.group === group && x.headline);
      const engine = rows.find((r) => r.configuration.startsWith('engine:'));
      lines.push(
        `- ${res.id} · ${group}: engine ${engine ? pps(engine.pairsPerSecond) : '—'} pairs/s; ${ms.map((x) => `${x.name} ${x.value}${x.unit && x.unit !== '×' ? ` ${x.unit}` : ''}`).join('; ')}`,
      );
    }
  }
  return lines.join('\n');
}

export function renderMarkdown(run: RunRecord, outFile: string, other?: RunRecord, renderedFrom?: string): string {
  const rel = (p: string) => relative(dirname(outFile), p).split('\\').join('/');
  const o = run.options;
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push('<!-- Generated by `npm run bench` (bench/src/main.ts). Edit the harness, not this file. -->', '');
  out.push(
    `Measured ${run.started.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} by \`${run.command}\` (${run.mode} mode, ${fmt(run.durationSeconds / 60, 1)} min). ` +
      `The runtime's intra-op thread count is fixed at **${o.threads}** for every configuration (1 inter-op thread, sequential execution). ` +
      `Each measurement: a warm-up run, then the median of ${o.runs} timed run${o.runs === 1 ? '' : 's'} where stated; diagnostic rows and the larger workloads are timed once (each section says which).`,
    '',
  );
  if (renderedFrom)
    out.push(
      `This report was rendered on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC from the saved results \`${renderedFrom}\` of that run.`,
      '',
    );
  out.push(
    `> These numbers come from **one run on a shared ${run.machine.cores}-core machine**: other jobs may have run at the same time. ` +
      `1-minute load average ${run.loadBefore.map((x) => fmt(x, 2))[0]} before the run and ${fmt(run.loadAfter[0], 2)} after ` +
      `(a quiet machine with this harness alone reads about ${o.threads}). Ratios are taken between configurations of the same run, which is what makes them comparable; absolute pairs/s are not a specification.`,
    '',
  );
  out.push('## Machine', '', machineTable(run.machine), '');
  out.push(`![pairs per second by configuration](${rel(run.chart)})`, '');
  out.push('## Summary', '');
  out.push("Baseline = the runtime's limit (best batch plan, pre-built batches, `session.run` only). Ratios are pairs/s over pairs/s.", '');
  for (const res of run.results) {
    const s = summaryTable(res);
    if (s) out.push(`**${res.title}**`, '', s, '');
  }
  let n = 0;
  for (const res of run.results) {
    n++;
    out.push(`## ${n}. ${res.title}`, '');
    for (const p of res.description) out.push(p, '');
    for (const [group, rows] of groups(res.rows)) {
      out.push(`### ${group}`, '', rowsTable(rows), '');
      const ms = res.metrics.filter((x) => x.group === group);
      if (ms.length) out.push(metricsTable(ms), '');
    }
    const loose = res.metrics.filter((x) => !res.rows.some((r) => r.group === x.group));
    if (loose.length) out.push(metricsTable(loose), '');
    if (res.observations?.length)
      out.push('**Observations** (derived from the numbers above)', '', ...res.observations.map((x) => `- ${x}`), '');
    if (res.notes.length) out.push(...res.notes.map((x) => `- ${x}`), '');
  }
  out.push(
    '## GPU',
    '',
    'Not measured here: every number in this report is CPU. The GPU check, `scripts/gpu-check.sh run` on a GPU machine (bench/src/gpu-check.ts: the four families on cuda:0 in fp32 and fp16 against the CPU, the engine beside the runtime on the GPU, a 10,000-document job with the worker on cuda:0), writes its own report; docs/gpu.md says how to install the CUDA provider (`npm run setup:gpu`) and run it.',
    '',
  );
  if (other) {
    out.push(`## The ${other.mode} run`, '');
    out.push(
      `\`${other.command}\` on ${other.started.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} took ${fmt(other.durationSeconds, 0)} s plus the build ` +
        `(1-minute load ${fmt(other.loadBefore[0], 2)} before, ${fmt(other.loadAfter[0], 2)} after; its report: ${defaultReport(other.mode)}).`,
      '',
      runSummary(other),
      '',
    );
  }
  return out.join('\n');
}
