/**
 * Section 4: scale-out. The same job on one worker process and on two, the machine's cores split
 * between the workers (one intra-op thread each on this 2-core machine), the way a second GPU node
 * adds a second device. One worker with every core is measured beside them for reference.
 */
import type { PresetName } from '@rerank/model-gen';
import { alternate, type Contender, fmt } from '../measure';
import { benchModel } from '../models';
import { Stack, threadsEnv } from '../stack/stack';
import type { BenchContext, Row, Section, SectionResult } from '../types';
import { speedRatio } from './observations';
import { SCALE } from './names';
import { jobWorkload, MODEL_NAME, runJob, warmupBody } from './system';

interface Config {
  name: string;
  devices: string[];
  /** RERANK_THREADS of the launcher (it splits them across its CPU workers). */
  threads: number;
}

function configs(cores: number): { one: Config; two: Config; oneAllCores: Config } {
  const half = Math.max(1, Math.floor(cores / 2));
  return {
    one: { name: `${SCALE.onePrefix} (${half} thread${half > 1 ? 's' : ''})`, devices: ['cpu'], threads: half },
    two: { name: `${SCALE.twoPrefix} (${half} thread${half > 1 ? 's' : ''} each)`, devices: ['cpu', 'cpu'], threads: half * 2 },
    oneAllCores: { name: `1 worker process, all ${cores} threads (reference)`, devices: ['cpu'], threads: cores },
  };
}

export const scaleOutSection: Section = {
  id: 'scale-out',
  title: 'Scale-out: one worker process against two',
  summary: 'the same job on 1 and on 2 worker processes, the cores split between them',
  derive(result: SectionResult): void {
    result.metrics = result.metrics.filter((m) => m.name !== SCALE.ratio);
    result.observations = [];
    for (const group of new Set(result.rows.map((r) => r.group))) {
      const rows = result.rows.filter((r) => r.group === group);
      const one = rows.find((r) => r.configuration.startsWith(SCALE.onePrefix));
      const two = rows.find((r) => r.configuration.startsWith(SCALE.twoPrefix));
      if (!one || !two) continue;
      const r = speedRatio(two, one);
      const rounds = r.rounds ? `rounds ${r.rounds.map((x) => fmt(x, 3)).join(', ')}; ` : '';
      result.metrics.unshift({
        group,
        name: SCALE.ratio,
        value: fmt(r.value, 3),
        unit: '×',
        headline: true,
        notes: `${rounds}target ≥ 1.7`,
      });
      result.observations.push(
        `**${group}**: two worker processes reach ${fmt(r.value, 2)}× one (${fmt(two.pairsPerSecond, 1)} vs ${fmt(one.pairsPerSecond, 1)} pairs/s): target 1.7 ${r.value >= 1.7 ? 'met' : `missed by ${fmt(1.7 - r.value, 2)}`}.`,
      );
    }
  },
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick, runs } = ctx.options;
    const rounds = quick ? 1 : Math.max(2, Math.min(3, runs));
    const specs: Workload[] = quick
      ? [{ preset: 'tiny', documents: 500, queries: 3, rounds, warmupDocuments: 500, reference: false }]
      : [
          { preset: 'tiny', documents: 10000, queries: 3, rounds, warmupDocuments: 10000, reference: true },
          { preset: 'minilm', documents: 2000, queries: 1, rounds, warmupDocuments: 300, reference: true },
        ];
    // --models picks workloads here too.
    const chosen = ctx.options.models ? specs.filter((s) => ctx.options.models?.includes(s.preset)) : specs;
    const rows: Row[] = [];
    const description: string[] = [
      'The stack of section 3 (its own redis-server, the API, the aggregator, the launcher from `dist/`), each job `POST /v1/jobs` → `completed` timed at the client. ' +
        "The configurations alternate: before each timed run the launcher is restarted with that configuration's devices and `RERANK_THREADS` (it splits the threads across its CPU workers) and the new workers are warmed with a job (untimed). " +
        `One worker with half the cores against two with half each is scale-out as a second device or node gives it; one worker with all ${ctx.options.threads} cores (not in --quick) shows what splitting the same cores into processes costs or gains.`,
    ];
    for (const spec of chosen) {
      rows.push(...(await measureWorkload(ctx, spec)));
      description.push(
        `**${spec.preset}, ${spec.documents.toLocaleString('en-US')} documents × ${spec.queries}**: ${spec.rounds === 1 ? 'one round' : `${spec.rounds} rounds`}; warm-up job of ${spec.warmupDocuments.toLocaleString('en-US')} documents${spec.warmupDocuments >= spec.documents ? ' (the whole job: the tiny model pays for every new batch shape a large share of a run)' : ''}.`,
      );
    }
    return { id: 'scale-out', title: this.title, description, rows, metrics: [], notes: [] };
  },
};

interface Workload {
  preset: PresetName;
  documents: number;
  queries: number;
  rounds: number;
  warmupDocuments: number;
  /** Also one worker with all cores. */
  reference: boolean;
}

async function measureWorkload(ctx: BenchContext, spec: Workload): Promise<Row[]> {
  const w = jobWorkload(spec.preset, spec.documents, spec.queries);
  const group = w.label;
  const log = (m: string) => ctx.log(`[scale-out · ${group}] ${m}`);
  const model = await benchModel(ctx.options.cacheDir, 'encoder', spec.preset);
  const c = configs(ctx.options.threads);
  const chosen = spec.reference ? [c.one, c.two, c.oneAllCores] : [c.one, c.two];
  const warmup = spec.warmupDocuments >= spec.documents ? w.body : warmupBody(w, spec.warmupDocuments);
  const stack = await Stack.start({ model: { name: MODEL_NAME, path: model.dir }, resultTtlSeconds: 120 });
  let shards = 0;
  try {
    const contender = (config: Config): Contender => ({
      name: config.name,
      before: async () => {
        await stack.stopWorkers();
        await stack.startWorkers(config.devices, threadsEnv(config.threads));
        log(`${config.name}: started, warming up`);
        await runJob(stack, warmup);
      },
      run: async () => {
        shards = (await runJob(stack, w.body)).shards;
      },
    });
    log(`${spec.rounds} round(s), alternating ${chosen.map((x) => x.name).join(' / ')}`);
    const alt = await alternate(chosen.map(contender), spec.rounds);
    const rows = chosen.map((config, i): Row => {
      const m = alt.measurements[i];
      return {
        section: 'scale-out',
        group,
        configuration: config.name,
        pairs: w.pairs.length,
        seconds: m.seconds,
        pairsPerSecond: w.pairs.length / m.seconds,
        runs: m.runs,
        notes: `--devices ${config.devices.join(',')}, RERANK_THREADS=${config.threads}; ${shards} shards`,
        alternation: `scale-out/${group}`,
        ...(i === 0 ? { baseline: true } : {}),
      };
    });
    for (const r of rows) log(`${r.configuration}: ${fmt(r.pairsPerSecond)} pairs/s (runs ${r.runs?.map((x) => fmt(x, 2)).join(', ')} s)`);
    return rows;
  } finally {
    await stack.stop();
  }
}
