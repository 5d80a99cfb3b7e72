/**
 * Section 6: the cost of watchers (issue 23). GET /v1/jobs/{id}/events streams must not slow scoring:
 * the same job with no watcher and with 1,000 concurrent watchers of it, and 100 jobs at once with no
 * watcher and with one watcher each, alternating A/B within each round. Watchers are raw HTTP streams
 * that read and discard (the cheapest client), checked to have received the final event. Reported: each
 * arm's job time (POST → completed seen by a status poll every 100 ms) and the API process's CPU seconds.
 */
import { execFileSync } from 'node:child_process';
import { type IncomingMessage, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { alternate, type Contender, fmt, median, selfTimed } from '../measure';
import { benchModel } from '../models';
import { Stack, threadsEnv } from '../stack/stack';
import type { BenchContext, Metric, Row, Section, SectionResult } from '../types';
import { jobWorkload, MODEL_NAME, warmupBody } from './system';

/** Status poll of the job(s) being timed: the same in both arms. */
const POLL_MS = 100;
/** Smaller shards than the default 1,000 pairs: more progress and partial events for the watchers to carry. */
const SHARD_PAIRS = 250;

/** The head of the completed event (apps/api/src/job-events/sse.ts frames it so). */
const FINAL_EVENT = 'id: end\nevent: completed\n';

interface Plan {
  /** Documents × 1 query of the single watched job. */
  oneJobDocuments: number;
  watchersOfOne: number;
  jobs: number;
  /** Documents × 1 query of each of the `jobs` jobs. */
  manyJobDocuments: number;
  rounds: number;
}

/** Opens one raw event stream, read and discarded; `done` resolves when the server ends it, saying whether its last event was the final one. */
function watch(base: string, id: string): Promise<{ done: Promise<{ bytes: number; final: boolean }> }> {
  return new Promise((resolveOpen, rejectOpen) => {
    const req = request(`${base}/v1/jobs/${id}/events`, { headers: { accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        rejectOpen(new Error(`GET /v1/jobs/${id}/events: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      let bytes = 0;
      let tail = '';
      let final = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        bytes += chunk.length;
        const seen = tail + chunk;
        final ||= seen.includes(FINAL_EVENT);
        tail = seen.slice(-FINAL_EVENT.length);
      });
      const done = new Promise<{ bytes: number; final: boolean }>((resolveDone) => res.once('close', () => resolveDone({ bytes, final })));
      resolveOpen({ done });
    });
    req.once('error', rejectOpen);
    req.end();
  });
}

/** Waits until every job completed, reading the status of the oldest pending one every POLL_MS. */
async function waitAll(stack: Stack, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    for (;;) {
      const v = await stack.view(id);
      if (v.status === 'completed') break;
      if (v.status !== 'queued' && v.status !== 'running') throw new Error(`job ${id} ${v.status}: ${JSON.stringify(v.error)}`);
      await sleep(POLL_MS);
    }
  }
}

/** What one timed run of an arm saw besides its time (a run the harness discarded as disturbed included). */
interface Attempt {
  seconds: number;
  apiCpu: number;
  benchCpu: number;
  streamBytes: number;
}

export const watchersSection: Section = {
  id: 'watchers',
  title: 'Watchers: the cost of event streams to scoring',
  summary: 'one job with 0 and 1,000 watchers, 100 jobs with 0 and 1 watcher each (GET /v1/jobs/{id}/events), A/B',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick } = ctx.options;
    const plan: Plan = quick
      ? { oneJobDocuments: 2000, watchersOfOne: 200, jobs: 20, manyJobDocuments: 100, rounds: 1 }
      : { oneJobDocuments: 10000, watchersOfOne: 1000, jobs: 100, manyJobDocuments: 100, rounds: Math.max(3, ctx.options.runs) };
    const log = (m: string) => ctx.log(`[watchers] ${m}`);
    const preset = 'tiny';
    const model = await benchModel(ctx.options.cacheDir, 'encoder', preset);
    const one = jobWorkload(preset, plan.oneJobDocuments, 1);
    const many = jobWorkload(preset, plan.manyJobDocuments, 1, 17);
    const stack = await Stack.start({
      model: { name: MODEL_NAME, path: model.dir },
      resultTtlSeconds: 300,
      // Off: each stream is a request, and 1,000 watchers a round pass the default 3,000 a minute.
      env: { RERANK_SHARD_MAX_PAIRS: String(SHARD_PAIRS), RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE: '0' },
    });
    const rows: Row[] = [];
    const metrics: Metric[] = [];
    try {
      await stack.startWorkers(['cpu'], threadsEnv(ctx.options.threads));
      log('warming up');
      await waitAll(stack, [(await stack.submit(warmupBody(one, 1000))).id]);

      /** Submits `bodies` at once, opens `watchersPerJob` streams of each, waits for every job and stream to end. */
      const arm = (name: string, bodies: () => Buffer[], watchersPerJob: number, attempts: Attempt[]): Contender => ({
        name,
        run: async () => {
          const cpu0 = await stack.processCpu();
          const t = performance.now();
          const ids = (await Promise.all(bodies().map((b) => stack.submit(b)))).map((s) => s.id);
          const streams = await Promise.all(ids.flatMap((id) => Array.from({ length: watchersPerJob }, () => watch(stack.base, id))));
          await waitAll(stack, ids);
          const seconds = (performance.now() - t) / 1000;
          const ends = await Promise.all(streams.map((s) => s.done));
          const cpu1 = await stack.processCpu();
          const missed = ends.filter((e) => !e.final).length;
          if (missed > 0) throw new Error(`${name}: ${missed} of ${ends.length} streams ended without the completed event`);
          attempts.push({
            seconds,
            apiCpu: cpu1.API - cpu0.API,
            benchCpu: cpu1.bench - cpu0.bench,
            streamBytes: ends.reduce((sum, e) => sum + e.bytes, 0),
          });
          log(`${name}: ${fmt(seconds, 2)} s, API ${fmt(cpu1.API - cpu0.API, 2)} CPU-s, ${ends.length} streams`);
          return selfTimed(seconds);
        },
      });
      const oneJobArms = [
        ['no watcher', 0],
        [`${plan.watchersOfOne.toLocaleString('en-US')} watchers of the job`, plan.watchersOfOne],
      ] as const;
      const groups: {
        label: string;
        pairs: number;
        bodies: () => Buffer[];
        arms: readonly (readonly [string, number])[];
        setup?: () => Promise<void>;
      }[] = [
        {
          label: `${one.label}, ${SHARD_PAIRS}-pair shards`,
          pairs: plan.oneJobDocuments,
          bodies: () => [one.body],
          arms: oneJobArms,
        },
        {
          label: `${plan.jobs} jobs at once, each ${many.label}`,
          pairs: plan.jobs * plan.manyJobDocuments,
          bodies: () => Array.from({ length: plan.jobs }, () => many.body),
          arms: [
            ['no watcher', 0],
            ['1 watcher of each job', 1],
          ] as const,
        },
        {
          // As deployed, the API runs on nodes of its own: here on a core of its own (with Redis, the
          // aggregator and the watchers), the worker alone on the other with one thread, in both arms.
          label: `${one.label}, ${SHARD_PAIRS}-pair shards, worker on core 0 (1 thread), API and watchers on core 1`,
          pairs: plan.oneJobDocuments,
          bodies: () => [one.body],
          arms: oneJobArms,
          setup: async () => {
            await stack.stopWorkers();
            await stack.startWorkers(['cpu'], threadsEnv(1));
            await stack.pin('0', '1');
            await waitAll(stack, [(await stack.submit(warmupBody(one, 1000))).id]);
          },
        },
      ];
      for (const g of groups) {
        await g.setup?.();
        const attempts: Attempt[][] = g.arms.map(() => []);
        log(`${g.label}: ${plan.rounds} round(s), alternating ${g.arms.map((a) => a[0]).join(' / ')}`);
        const alt = await alternate(
          g.arms.map(([name, n], i) => arm(name, g.bodies, n, attempts[i])),
          plan.rounds,
        );
        g.arms.forEach(([name], i) => {
          const m = alt.measurements[i];
          // The kept runs' own readings (a disturbed run that was timed again is left out).
          const kept = m.runs.map((seconds) => attempts[i].find((a) => a.seconds === seconds) as Attempt);
          const list = (f: (a: Attempt) => number) => kept.map((a) => fmt(f(a), 2)).join(', ');
          rows.push({
            section: 'watchers',
            group: g.label,
            configuration: name,
            pairs: g.pairs,
            seconds: m.seconds,
            pairsPerSecond: g.pairs / m.seconds,
            runs: m.runs,
            ...(m.foreign?.length ? { foreignCores: Math.max(...m.foreign) } : {}),
            notes: `API CPU-s per run ${list((a) => a.apiCpu)}; the bench's (its watchers) ${list((a) => a.benchCpu)}; bytes streamed ${fmt(median(kept.map((a) => a.streamBytes)), 0)}`,
            alternation: `watchers/${g.label}`,
            ...(i === 0 ? { baseline: true } : {}),
          });
          metrics.push({
            group: g.label,
            name: `${name}: API CPU seconds, median`,
            value: fmt(median(kept.map((a) => a.apiCpu)), 2),
            unit: 's',
          });
        });
        const ratios = alt.rounds.map((round) => round[1] / round[0]);
        metrics.push({
          group: g.label,
          name: 'watched / unwatched job time, median of rounds',
          value: fmt(median(ratios), 3),
          unit: '×',
          headline: true,
          notes: `rounds ${ratios.map((x) => fmt(x, 3)).join(', ')}`,
        });
      }
    } finally {
      await stack.stop();
      // This process was pinned with the API's side.
      execFileSync('taskset', ['-a', '-p', '-c', `0-${availableParallelism() - 1}`, String(process.pid)], { stdio: 'ignore' });
    }
    return {
      id: 'watchers',
      title: this.title,
      description: [
        `The stack of section 3 with one CPU worker (${ctx.options.threads} threads), RERANK_SHARD_MAX_PAIRS=${SHARD_PAIRS} (more shards: more progress and partial events) and no request rate limit (each stream is a request). ` +
          `Each arm submits its job(s), opens the watchers (raw HTTP event streams that read and discard) right after each 202, and is timed from the first POST until a status poll (every ${POLL_MS} ms, both arms) sees every job completed; every stream is checked to end with the completed event. ` +
          `The arms alternate within each of ${plan.rounds} round(s). The API's CPU seconds are read from /proc over each run; the watchers run in the bench process, on the same cores as the worker, except in the last group, which pins the worker to core 0 (one thread) and the API, aggregator, Redis and watchers to core 1 (taskset), as separate API nodes would keep them apart.`,
      ],
      rows,
      metrics,
      notes: [],
    };
  },
};
