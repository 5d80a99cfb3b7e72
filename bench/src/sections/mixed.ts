/**
 * Section 5: mixed load (issue 13). One worker process (all threads) on the stack of section 3.
 * Alternating idle and loaded phases in one process: synchronous requests of 10 and 100 documents
 * (p50/p99 of the client's round trip) alone and while a big job runs; a small job's POST →
 * completed alone and submitted behind the big job; the big job's throughput alone and with the
 * small traffic. Targets: sync p99 loaded ≤ 3× idle; small job behind ≤ 2× alone; big-job
 * throughput loss < 10%. Two API keys: the big job is one tenant's, the small job and the sync
 * requests another's (fairness is across tenants first, then across a tenant's jobs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startReceiver } from '@rerank/harness';
import { makeCorpus } from '@rerank/model-gen';
import { fmt, percentile } from '../measure';
import { benchModel } from '../models';
import { Stack, threadsEnv } from '../stack/stack';
import type { BenchContext, Metric, Row, Section, SectionResult } from '../types';
import { jobWorkload, MODEL_NAME, runJob, SYSTEM_SEED, WATCHDOG_MS, warmupBody } from './system';

interface Plan {
  bigDocuments: number;
  smallDocuments: number;
  /** Synchronous requests of each size per phase. */
  syncPerPhase: number;
  rounds: number;
}

interface Phase {
  sync: Record<10 | 100, number[]>;
  smallSeconds: number;
  /** Pairs of the small job and the synchronous requests sent in the phase. */
  smallTrafficPairs: number;
  bigSeconds?: number;
}

const SYNC_SIZES = [10, 100] as const;
/** The two tenants of the stack (RERANK_API_KEYS): the big job's, and the small traffic's. */
const BIG_KEY = 'bench-mixed-big-tenant-key';
const SMALL_KEY = 'bench-mixed-small-tenant-key';

export const mixedSection: Section = {
  id: 'mixed',
  title: 'Mixed load: synchronous requests and a small job beside a big job',
  summary: "sync p50/p99 and a small job's time, idle and while a 10,000-document job runs; the big job's throughput with and without them",
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick } = ctx.options;
    const plan: Plan = quick
      ? { bigDocuments: 3000, smallDocuments: 200, syncPerPhase: 20, rounds: 1 }
      : { bigDocuments: 10000, smallDocuments: 200, syncPerPhase: 40, rounds: 2 };
    const preset = ctx.options.models?.[0] === 'tiny' ? 'tiny' : 'minilm';
    const log = (m: string) => ctx.log(`[mixed] ${m}`);
    // Jobs end when their webhook reaches this receiver; their status is read only every second.
    const receiver = await startReceiver();
    const big = jobWorkload(preset, plan.bigDocuments, 1, SYSTEM_SEED, receiver.url);
    const smallBody = warmupBody(jobWorkload(preset, plan.smallDocuments, 1, 29, receiver.url), plan.smallDocuments);
    const corpus = makeCorpus(31, { lengths: 'realistic' });
    const syncBodies = Object.fromEntries(
      SYNC_SIZES.map((n) => [
        n,
        Array.from({ length: 8 }, () =>
          JSON.stringify({
            model: MODEL_NAME,
            query: corpus.query(),
            documents: Array.from({ length: n }, () => corpus.passage()),
            top_n: 5,
          }),
        ),
      ]),
    ) as Record<10 | 100, string[]>;
    const model = await benchModel(ctx.options.cacheDir, 'encoder', preset);
    const stack = await Stack.start({
      model: { name: MODEL_NAME, path: model.dir },
      resultTtlSeconds: 120,
      env: { RERANK_API_KEYS: `big:${BIG_KEY},small:${SMALL_KEY}`, RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8' },
    });
    const idle: Phase[] = [];
    const loaded: Phase[] = [];
    try {
      await stack.startWorkers(['cpu'], threadsEnv(ctx.options.threads));
      const sync = async (n: 10 | 100, i: number): Promise<number> => {
        const t = performance.now();
        const r = await fetch(`${stack.base}/v1/rerank`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SMALL_KEY}` },
          body: syncBodies[n][i % 8],
        });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`POST /v1/rerank: HTTP ${r.status}`);
        return performance.now() - t;
      };
      /** Sync requests of both sizes, one after the other, a short pause between. */
      const syncRun = async (phase: Phase, until?: () => boolean) => {
        for (let i = 0; i < plan.syncPerPhase && !(until?.() ?? false); i++) {
          for (const n of SYNC_SIZES) {
            phase.sync[n].push(await sync(n, i));
            phase.smallTrafficPairs += n;
          }
          await sleep(50);
        }
      };
      const job = (body: Buffer, key: string) => runJob(stack, body, { everyMs: WATCHDOG_MS, receiver, key });
      const smallJob = async (phase: Phase) => {
        phase.smallSeconds = (await job(smallBody, SMALL_KEY)).wallSeconds;
        phase.smallTrafficPairs += plan.smallDocuments;
      };
      log('warm-up');
      await job(warmupBody(big, 300), BIG_KEY);
      for (const n of SYNC_SIZES) for (let i = 0; i < 3; i++) await sync(n, i);
      for (let round = 0; round < plan.rounds; round++) {
        // Idle: each measured alone, then the big job alone.
        const a: Phase = { sync: { 10: [], 100: [] }, smallSeconds: 0, smallTrafficPairs: 0 };
        await syncRun(a);
        await smallJob(a);
        a.bigSeconds = (await job(big.body, BIG_KEY)).wallSeconds;
        idle.push(a);
        log(
          `round ${round + 1} idle: sync10 p99 ${fmt(percentile(a.sync[10], 99), 0)} ms, small ${fmt(a.smallSeconds)} s, big ${fmt(a.bigSeconds)} s`,
        );
        // Loaded: the big job, then the small job behind it and sync requests while it runs.
        const b: Phase = { sync: { 10: [], 100: [] }, smallSeconds: 0, smallTrafficPairs: 0 };
        let bigDone = false;
        const bigRun = job(big.body, BIG_KEY).then((r) => ((bigDone = true), r));
        await sleep(1500);
        await smallJob(b);
        await syncRun(b, () => bigDone);
        b.bigSeconds = (await bigRun).wallSeconds;
        loaded.push(b);
        log(
          `round ${round + 1} loaded: sync10 p99 ${fmt(percentile(b.sync[10], 99), 0)} ms (${b.sync[10].length}), small ${fmt(b.smallSeconds)} s, big ${fmt(b.bigSeconds)} s`,
        );
      }
    } finally {
      await stack.stop();
      await receiver.close();
    }
    return report(plan, preset, big.pairs.length, idle, loaded, ctx.options.threads);
  },
};

function report(plan: Plan, preset: string, bigPairs: number, idle: Phase[], loaded: Phase[], threads: number): SectionResult {
  const group = `${preset}: big job ${plan.bigDocuments.toLocaleString('en-US')} documents, small job ${plan.smallDocuments}, 1 worker × ${threads} threads`;
  const all = (ps: Phase[], n: 10 | 100) => ps.flatMap((p) => p.sync[n]);
  const med = (xs: number[]) => percentile(xs, 50);
  const metrics: Metric[] = [];
  for (const n of SYNC_SIZES) {
    const i99 = percentile(all(idle, n), 99);
    const l99 = percentile(all(loaded, n), 99);
    metrics.push({
      group,
      name: `sync ${n} docs p50 idle / loaded`,
      value: `${fmt(med(all(idle, n)), 0)} / ${fmt(med(all(loaded, n)), 0)}`,
      unit: 'ms',
    });
    metrics.push({
      group,
      name: `sync ${n} docs p99 idle / loaded`,
      value: `${fmt(i99, 0)} / ${fmt(l99, 0)}`,
      unit: 'ms',
      notes: `${fmt(l99 / i99)}× (target ≤ 3×); ${all(idle, n).length} / ${all(loaded, n).length} requests`,
      headline: true,
    });
  }
  const smallAlone = med(idle.map((p) => p.smallSeconds));
  const smallBehind = med(loaded.map((p) => p.smallSeconds));
  metrics.push({
    group,
    name: 'small job alone / behind the big job',
    value: `${fmt(smallAlone)} / ${fmt(smallBehind)}`,
    unit: 's',
    notes: `${fmt(smallBehind / smallAlone)}× (target ≤ 2×)`,
    headline: true,
  });
  const bigAlone = med(idle.map((p) => p.bigSeconds as number));
  const bigLoaded = med(loaded.map((p) => p.bigSeconds as number));
  const loss = 1 - bigAlone / bigLoaded;
  const trafficPairs = med(loaded.map((p) => p.smallTrafficPairs));
  metrics.push({
    group,
    name: "big job's own throughput loss with the small traffic",
    value: fmt(loss * 100, 1),
    unit: '%',
    notes: `target < 10%; the small traffic's ${trafficPairs.toLocaleString('en-US')} pairs (${fmt((100 * trafficPairs) / bigPairs, 0)} % of the big job's) ran inside the big job's wall time, first (sync) or sharing (the small job)`,
    headline: true,
  });
  // The least loss any work-conserving schedule could give: the small traffic's pairs take the device
  // for about their share of all pairs in the phase (costed as the big job's pairs), whatever the order.
  const floor = trafficPairs / (bigPairs + trafficPairs);
  metrics.push({
    group,
    name: "big job's least possible loss with this small traffic",
    value: fmt(floor * 100, 1),
    unit: '%',
    notes:
      "the small traffic's pairs / all pairs of the loaded phase: the device time they take from the big job however they are scheduled",
  });
  // Whether serving both costs throughput: every pair scored in the loaded phase over its wall time.
  const deviceLoss = 1 - (bigPairs + trafficPairs) / bigLoaded / (bigPairs / bigAlone);
  metrics.push({
    group,
    name: 'throughput loss of the whole loaded phase',
    value: fmt(deviceLoss * 100, 1),
    unit: '%',
    notes:
      "(big job's + small traffic's pairs) / the big job's wall time, against the big job alone: what mixing costs, the small traffic's own work set aside",
    headline: true,
  });
  const rows: Row[] = [
    {
      section: 'mixed',
      group,
      configuration: 'big job alone',
      pairs: bigPairs,
      seconds: bigAlone,
      pairsPerSecond: bigPairs / bigAlone,
      runs: idle.map((p) => p.bigSeconds as number),
      baseline: true,
      notes: '',
    },
    {
      section: 'mixed',
      group,
      configuration: 'big job with a small job and sync requests',
      pairs: bigPairs,
      seconds: bigLoaded,
      pairsPerSecond: bigPairs / bigLoaded,
      runs: loaded.map((p) => p.bigSeconds as number),
      notes: "wall time of the big job; the small traffic's pairs ran in it too",
    },
  ];
  return {
    id: 'mixed',
    title: mixedSection.title,
    description: [
      `The stack of section 3 with one worker process (RERANK_THREADS=${threads}, RERANK_WORKER_CONCURRENCY 2, RERANK_WORKER_SYNC_CONCURRENCY 4). ${plan.rounds} round(s), each an idle phase ` +
        `(${plan.syncPerPhase} synchronous requests of 10 and of 100 documents one after another, a ${plan.smallDocuments}-document job, then the big job alone) and a loaded phase ` +
        "(the big job; 1.5 s later the small job; then synchronous requests until the big job completes). Two tenants (API keys): the big job is one's, the small job and the synchronous requests the other's. " +
        "A job is timed from its POST to its webhook's arrival at a receiver in the bench (its status read once a second, only to stop on a failure); a synchronous request from its POST to the end of its answer.",
    ],
    rows,
    metrics,
    notes: [],
  };
}
