/**
 * Section 3: a 10,000-document job through the job system (API → Redis → worker → aggregator, real
 * processes from dist/ on a redis-server of its own) against the engine in-process on the same pairs
 * with the same threads, timed alternating. Also POST → 202 for a 10,000-document body, Redis memory
 * during the job and after the result's time to live, and the workers' resident memory.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FlagReranker, type Pair } from '@rerank/engine';
import { makeCorpus, type PresetName } from '@rerank/model-gen';
import { foreignCores, snapshot } from '../cpu-monitor';
import { alternate, fmt, median, metricRecorder, percentile, row, selfTimed } from '../measure';
import { benchModel, type BenchModel } from '../models';
import { type Receiver, startReceiver, waitFor } from '@rerank/harness';
import { residentMemory } from '../stack/processes';
import { type JobView, sampler, Stack, threadsEnv } from '../stack/stack';
import type { BenchContext, Metric, Row, Section, SectionResult } from '../types';
import { absDiffs } from './compare';
import { speedRatio } from './observations';

export const SYSTEM_SEED = 11;
export const MODEL_NAME = 'bench';

export const SYS = {
  inProcess: 'engine in-process: computeScore of all pairs, same threads',
  jobPrefix: 'job: POST → completed',
  ratio: 'job / in-process (median of A/B rounds)',
  postMedian: 'POST → 202, median',
  postP95: 'POST → 202, p95',
  redisPeak: 'Redis used_memory, peak sampled during the jobs',
  redisAfterTtl: 'Redis used_memory after the TTL',
  workerHwm: 'worker VmHWM (peak resident)',
};

/** A job's texts: `documents` passages shared by `queries` queries (realistic lengths). */
export interface JobWorkload {
  preset: PresetName;
  documents: string[];
  queries: string[];
  /** Query-major: every document with the first query, then with the second... */
  pairs: Pair[];
  /** The POST /v1/jobs body, serialized once. */
  body: Buffer;
  label: string;
  /** The webhook the body names, if any (warm-up bodies name it too). */
  webhookUrl?: string;
}

/** `webhookUrl`: the job's webhook (a receiver of the bench's, which then times the job by its delivery). */
export function jobWorkload(preset: PresetName, documents: number, queries: number, seed = SYSTEM_SEED, webhookUrl?: string): JobWorkload {
  const corpus = makeCorpus(seed, { lengths: 'realistic' });
  const docs = Array.from({ length: documents }, () => corpus.passage());
  const qs = Array.from({ length: queries }, () => corpus.query());
  const body = Buffer.from(
    JSON.stringify({
      model: MODEL_NAME,
      queries: qs.map((query, i) => ({ id: `q${i}`, query })),
      documents: docs,
      top_k: 10,
      ...(webhookUrl ? { webhook: { url: webhookUrl } } : {}),
    }),
  );
  return {
    preset,
    documents: docs,
    queries: qs,
    pairs: qs.flatMap((q) => docs.map((d) => [q, d] as Pair)),
    body,
    label: `${preset}: ${documents.toLocaleString('en-US')} documents × ${queries} quer${queries === 1 ? 'y' : 'ies'} (${(documents * queries).toLocaleString('en-US')} pairs)`,
    ...(webhookUrl ? { webhookUrl } : {}),
  };
}

/** A small job (the first documents, one query) that warms the workers' sessions and the API's code paths. */
export function warmupBody(w: JobWorkload, documents: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: MODEL_NAME,
      query: w.queries[0],
      documents: w.documents.slice(0, documents),
      top_k: 10,
      ...(w.webhookUrl ? { webhook: { url: w.webhookUrl } } : {}),
    }),
  );
}

export interface JobRun {
  id: string;
  postMs: number;
  wallSeconds: number;
  serverTotalMs: number | null;
  queuedMs: number | null;
  mergeMs?: number;
  shards: number;
  /** Webhook-timed jobs: POST sent → the job's created_at, and its finished_at → the webhook's arrival. */
  lags?: { createdMs: number; hookMs: number };
}

/** How a job is sent and how its end is seen. */
export interface JobRunOptions {
  /** Status reads: until completed, or (with `receiver`) only to stop on a failure. Default 50 ms. */
  everyMs?: number;
  /** A receiver the body names as the job's webhook: the job ends when its delivery arrives. */
  receiver?: Receiver;
  /** The API key (tenant) the job is sent with, on a stack with RERANK_API_KEYS. */
  key?: string;
}

/**
 * POST the body and wait for the job's end. Without `receiver`: poll every `everyMs` until completed.
 * With one (the body names it as the job's webhook): the end is the webhook's arrival, as a client
 * that registered one learns it; the status is read every `everyMs` only to stop on a failure, so
 * the measurement does not itself load the API (a 50 ms poll costs the 2-core machine ~5 % of a job).
 */
export async function runJob(stack: Stack, body: Buffer, options: JobRunOptions = {}): Promise<JobRun> {
  const { everyMs = 50, receiver, key } = options;
  const t = performance.now();
  // The receiver stamps deliveries with Date.now(): a webhook-timed job is measured on that clock.
  const postedAt = Date.now();
  const { id, ms } = await stack.submit(body, key);
  let v: JobView;
  let webhookAt: number | undefined;
  let lags: { createdMs: number; hookMs: number } | undefined;
  if (receiver) {
    let done = false;
    const delivered = receiver.delivery((d) => (d.json as { id?: string } | undefined)?.id === id);
    const watchdog = (async () => {
      while (!done) {
        await sleep(everyMs);
        const seen = await stack.view(id, key);
        if (seen.status === 'failed' || seen.status === 'cancelled')
          throw new Error(`job ${id} ${seen.status}: ${JSON.stringify(seen.error)}`);
      }
    })();
    try {
      const d = await Promise.race([delivered, watchdog.then(() => undefined)]);
      webhookAt = d?.at;
      const payload = d?.json as { created_at: string; finished_at: string } | undefined;
      if (d && payload) lags = { createdMs: Date.parse(payload.created_at) - postedAt, hookMs: d.at - Date.parse(payload.finished_at) };
    } finally {
      done = true;
    }
    await watchdog;
    v = await stack.view(id, key);
    if (v.status !== 'completed') throw new Error(`job ${id}: webhook received but status ${v.status}`);
  } else {
    v = await stack.waitCompleted(id, everyMs, undefined, key);
  }
  const wallSeconds = webhookAt !== undefined ? (webhookAt - postedAt) / 1000 : (performance.now() - t) / 1000;
  // The aggregator logs the merge just after it marks the job completed.
  await sleep(20);
  const mergeMs = stack.mergeMs(id);
  return {
    id,
    postMs: ms,
    wallSeconds,
    serverTotalMs: v.timings.total_ms,
    queuedMs: v.timings.queued_ms,
    shards: v.progress.shards_total,
    ...(mergeMs !== undefined ? { mergeMs } : {}),
    ...(lags ? { lags } : {}),
  };
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${fmt(bytes / MB, 1)} MB`;

interface Workload {
  preset: PresetName;
  documents: number;
  queries: number;
  rounds: number;
}

function workloads(ctx: BenchContext): Workload[] {
  const { quick, runs, complete, models } = ctx.options;
  if (quick) return [{ preset: 'tiny', documents: 500, queries: 3, rounds: 1 }];
  const all: Workload[] = [
    { preset: 'tiny', documents: 10000, queries: 3, rounds: Math.max(3, runs) },
    { preset: 'minilm', documents: 10000, queries: 1, rounds: complete ? runs : 1 },
  ];
  // --models picks workloads here too.
  return models ? all.filter((w) => models.includes(w.preset)) : all;
}

async function measureWorkload(ctx: BenchContext, spec: Workload): Promise<{ rows: Row[]; metrics: Metric[] }> {
  const { threads, quick } = ctx.options;
  // Jobs end when their webhook reaches this receiver; the status is polled only every second.
  const receiver = await startReceiver();
  const w = jobWorkload(spec.preset, spec.documents, spec.queries, SYSTEM_SEED, receiver.url);
  const group = w.label;
  const log = (m: string) => ctx.log(`[system · ${group}] ${m}`);
  const model: BenchModel = await benchModel(ctx.options.cacheDir, 'encoder', spec.preset);
  const ttl = quick ? 3 : 10;
  const metrics: Metric[] = [];
  const metric = metricRecorder(metrics, group);

  log(`starting redis-server, API, aggregator (RERANK_RESULT_TTL_SECONDS=${ttl})…`);
  const stack = await Stack.start({
    model: { name: MODEL_NAME, path: model.dir },
    resultTtlSeconds: ttl,
    // POST → 202 is timed with the workers stopped: jobs for a model without a live worker must queue.
    env: { RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8', RERANK_REFUSE_UNSERVED: 'sync' },
  });
  const engine = new FlagReranker(model.dir, { devices: ['cpu'], intraOpNumThreads: threads });
  try {
    const empty = Number((await stack.redis.info('memory')).used_memory);
    await stack.startWorkers(['cpu'], threadsEnv(threads));
    await engine.ready();
    // A session pays once for every new batch shape: with the tiny model that cost is a large part of
    // a run, so both sides are warmed on the whole workload; the MiniLM-size one on 1,000 documents.
    const full = spec.preset === 'tiny';
    log(`1 worker (${threads} threads) ready; warming up (${full ? 'the whole workload' : '1,000 documents'} each)`);
    await engine.computeScore(full ? w.pairs : w.pairs.slice(0, 1000));
    await runJob(stack, full ? w.body : warmupBody(w, Math.min(1000, spec.documents)), { everyMs: WATCHDOG_MS, receiver });

    let inProcessScores: number[] = [];
    const jobRuns: JobRun[] = [];
    let redisPeakSampled = 0;
    let workerRssPeak = 0;
    let lastJobCpu: Record<string, number> = {};
    let inProcessCpu = NaN;
    const alt = await alternate(
      [
        {
          name: 'in-process',
          run: async () => {
            const cpu = process.cpuUsage();
            inProcessScores = await engine.computeScore(w.pairs);
            const used = process.cpuUsage(cpu);
            inProcessCpu = (used.user + used.system) / 1e6;
          },
        },
        {
          name: 'job',
          run: async () => {
            // Sampled once a second, from pids read beforehand: the sampling must not load the machine the
            // job runs on (INFO every 100 ms and a heartbeat read every 250 ms were extra work on the same cores).
            // The peaks themselves come from used_memory_peak and VmHWM below.
            const redis = sampler(async () => Number((await stack.redis.info('memory')).used_memory), SAMPLE_MS);
            const pids = (await stack.workers()).map((x) => x.pid);
            const rss = sampler(() => pids.reduce((sum, pid) => sum + (residentMemory(pid)?.rss ?? 0), 0), SAMPLE_MS);
            const cpu0 = await stack.processCpu();
            try {
              const run = await runJob(stack, w.body, { everyMs: WATCHDOG_MS, receiver });
              jobRuns.push(run);
              lastJobCpu = cpuSpent(cpu0, await stack.processCpu());
              return selfTimed(run.wallSeconds);
            } finally {
              redisPeakSampled = Math.max(redisPeakSampled, await redis.stop());
              workerRssPeak = Math.max(workerRssPeak, await rss.stop());
            }
          },
        },
      ],
      spec.rounds,
    );
    const n = w.pairs.length;
    const alternation = `system/${group}`;
    const last = jobRuns[jobRuns.length - 1];
    const rows: Row[] = [
      {
        ...row(
          'system',
          group,
          SYS.inProcess,
          n,
          alt.measurements[0],
          `FlagReranker, devices ['cpu'], intraOpNumThreads ${threads}; one call`,
          true,
        ),
        alternation,
      },
      {
        ...row(
          'system',
          group,
          `${SYS.jobPrefix}: API → Redis → 1 worker (${threads} threads) → aggregator`,
          n,
          alt.measurements[1],
          `${last.shards} shards; POST → 202 ${jobRuns.map((r) => fmt(r.postMs, 0)).join(', ')} ms; server created → completed ${jobRuns.map((r) => fmt((r.serverTotalMs ?? NaN) / 1000, 2)).join(', ')} s; merge ${jobRuns.map((r) => r.mergeMs ?? '?').join(', ')} ms; POST sent → created_at ${jobRuns.map((r) => r.lags?.createdMs ?? '?').join(', ')} ms, finished_at → webhook ${jobRuns.map((r) => r.lags?.hookMs ?? '?').join(', ')} ms; timed to the webhook's arrival, status polled every ${WATCHDOG_MS / 1000} s`,
        ),
        alternation,
      },
    ];
    for (const r of rows) log(`${r.configuration}: ${fmt(r.pairsPerSecond)} pairs/s (runs ${r.runs?.map((x) => fmt(x, 2)).join(', ')} s)`);

    // Same scores as in-process?
    const jobScores = (await stack.allScores(last.id, w.queries.length)).flat();
    const d = absDiffs(inProcessScores, jobScores);
    metric(
      'max |Δscore| job vs in-process',
      d.max === 0 ? '0' : d.max.toExponential(1),
      '',
      `every score of the last job (?all=true) against the in-process run, ${n} pairs`,
    );

    metric(
      'CPU seconds during the last job, by process',
      Object.entries(lastJobCpu)
        .map(([name, sec]) => `${name} ${fmt(sec, 2)}`)
        .join(', '),
      '',
      `/proc/<pid>/stat utime + stime over the job (the bench itself: process.cpuUsage); the last in-process run of the same pairs took ${fmt(inProcessCpu, 2)} CPU seconds in the bench process`,
    );

    const info = await stack.redis.info('memory');
    const mem = await stack.workerMemory();
    metric('Redis used_memory, empty stack (API + aggregator + worker connected)', mb(empty));
    metric(
      SYS.redisPeak,
      mb(redisPeakSampled),
      '',
      `sampled every second (INFO memory used_memory); the body is ${mb(w.body.length)} of JSON`,
      true,
    );
    metric(
      "Redis used_memory_peak (INFO), the server's life up to here",
      mb(Number(info.used_memory_peak)),
      '',
      'includes the warm-up job',
    );
    metric('worker VmRSS, largest sum sampled during the jobs', mb(workerRssPeak), '', 'sampled every second');
    for (const m of mem) metric(SYS.workerHwm, mb(m.hwm), '', `pid ${m.pid}; VmRSS now ${mb(m.rss)}`, mem.length === 1);

    // After the result's time to live: only what outlives a job stays.
    const t = performance.now();
    await sleep(ttl * 1000);
    // Expiry is lazy and sampled: give Redis a moment past the TTL, then read the memory regardless.
    await waitFor(
      'the job keys to expire',
      async () => ((await stack.redis.client.exists(`rerank:job:${last.id}`, `rerank:job:${last.id}:scores`)) === 0 ? true : undefined),
      15000,
      200,
    ).catch(() => undefined);
    const after = Number((await stack.redis.info('memory')).used_memory);
    const keys = await stack.redis.client.dbsize();
    metric(
      SYS.redisAfterTtl,
      mb(after),
      '',
      `${fmt((performance.now() - t) / 1000, 1)} s after the last job completed (TTL ${ttl} s); ${keys} keys left (BullMQ queue metadata, worker heartbeats)`,
      true,
    );

    // POST → 202 with the workers stopped: nothing competes for the CPU; each job cancelled right after (untimed).
    await stack.stopWorkers();
    const posts: number[] = [];
    const submissions = quick ? 10 : 20;
    const cpu0 = snapshot();
    for (let i = 0; i < submissions + 2; i++) {
      const r = await stack.submit(w.body);
      if (i >= 2) posts.push(r.ms);
      await stack.cancel(r.id);
    }
    const others = foreignCores(cpu0, snapshot());
    metric(
      SYS.postMedian,
      fmt(median(posts), 1),
      'ms',
      `${submissions} submissions of the ${spec.documents.toLocaleString('en-US')}-document body (${mb(w.body.length)}, serialized beforehand), after 2 untimed; workers stopped, each job cancelled right after its 202`,
      true,
    );
    metric(
      SYS.postP95,
      fmt(percentile(posts, 95), 1),
      'ms',
      `max ${fmt(Math.max(...posts), 1)} ms; other processes took ${fmt(others, 2)} cores meanwhile`,
      true,
    );
    log(`POST → 202: median ${fmt(median(posts), 1)} ms, p95 ${fmt(percentile(posts, 95), 1)} ms`);
    return { rows, metrics };
  } catch (e) {
    process.stderr.write(
      `[system] API output:\n${stack.api.output().slice(-3000)}\n[system] aggregator output:\n${stack.aggregator.output().slice(-3000)}\n[system] launcher output:\n${stack.launcher?.output().slice(-3000) ?? ''}\n`,
    );
    throw e;
  } finally {
    await engine.close();
    await stack.stop();
    await receiver.close();
  }
}

/** Status reads while a job is timed by its webhook: only to stop on a failure. */
export const WATCHDOG_MS = 1000;
/** Job throughput over the in-process engine's that the section expects (issue 11: 0.95; 0.9 before). */
const JOB_RATIO_TARGET = 0.95;
/** Redis memory and worker RSS samples during a timed job. */
const SAMPLE_MS = 1000;

function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, sec]) => [name, sec - (before[name] ?? 0)]));
}

export function deriveSystem(result: SectionResult): void {
  const observations: string[] = [];
  result.metrics = result.metrics.filter((m) => m.name !== SYS.ratio);
  const groups = [...new Set(result.rows.map((r) => r.group))];
  for (const group of groups) {
    const rows = result.rows.filter((r) => r.group === group);
    const inProcess = rows.find((r) => r.configuration === SYS.inProcess);
    const job = rows.find((r) => r.configuration.startsWith(SYS.jobPrefix));
    if (!inProcess || !job) continue;
    const ratio = speedRatio(job, inProcess);
    result.metrics.unshift({
      group,
      name: SYS.ratio,
      value: fmt(ratio.value, 3),
      unit: '×',
      headline: true,
      notes: ratio.rounds
        ? `rounds ${ratio.rounds.map((x) => fmt(x, 3)).join(', ')}; target ≥ ${JOB_RATIO_TARGET}`
        : `target ≥ ${JOB_RATIO_TARGET}`,
    });
    const m = (name: string) => result.metrics.find((x) => x.group === group && x.name === name);
    const p95 = Number(m(SYS.postP95)?.value);
    const parts = [
      `**${group}**: the job reaches ${fmt(ratio.value, 2)} of the in-process engine's throughput (${fmt(job.pairsPerSecond, 1)} vs ${fmt(inProcess.pairsPerSecond, 1)} pairs/s${ratio.rounds && ratio.rounds.length > 1 ? `, median of ${ratio.rounds.length} A/B rounds` : ''}): target ${JOB_RATIO_TARGET} ${ratio.value >= JOB_RATIO_TARGET ? 'met' : `missed by ${fmt(JOB_RATIO_TARGET - ratio.value, 2)}`}.`,
    ];
    if (Number.isFinite(p95))
      parts.push(
        `POST → 202 for the body: median ${m(SYS.postMedian)?.value} ms, p95 ${fmt(p95, 1)} ms (target < 250 ms: ${p95 < 250 ? 'met' : `missed by ${fmt(p95 - 250, 0)} ms`}).`,
      );
    const peak = m(SYS.redisPeak);
    const after = m(SYS.redisAfterTtl);
    if (peak && after)
      parts.push(`Redis held at most ${peak.value} during the jobs and ${after.value} once the result's time to live had passed.`);
    observations.push(parts.join(' '));
  }
  result.observations = observations;
}

export const systemSection: Section = {
  id: 'system',
  title: 'System: API, Redis, workers, aggregator',
  summary: 'a 10,000-document job end to end vs the engine in-process; POST → 202; Redis and worker memory',
  derive: deriveSystem,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const rows: Row[] = [];
    const metrics: Metric[] = [];
    const specs = workloads(ctx);
    for (const spec of specs) {
      const r = await measureWorkload(ctx, spec);
      rows.push(...r.rows);
      metrics.push(...r.metrics);
    }
    const { threads } = ctx.options;
    return {
      id: 'system',
      title: this.title,
      description: [
        `The job system as it runs in production, each app a process of its own from \`dist/\`: a redis-server of its own (no persistence), the API, the aggregator and the worker launcher with one CPU worker (\`--devices cpu\`, \`RERANK_THREADS=${threads}\`), default shard size (\`RERANK_SHARD_MAX_PAIRS\` 1,000) and \`RERANK_RESULT_TTL_SECONDS\` short (${ctx.options.quick ? 3 : 10} s) so that the memory after it can be read. Documents and queries: \`makeCorpus(${SYSTEM_SEED}, { lengths: 'realistic' })\` passages and queries; one query set shared by all documents.`,
        `- **job**: \`POST /v1/jobs\` with the body serialized beforehand, the job's webhook pointing at a receiver in the bench, timed at the client: the wall time from POST to the webhook's arrival (\`GET /v1/jobs/{id}\` every second meanwhile, only to stop on a failure). Polling every 50 ms instead, as earlier versions did, costs the API and the bench about 5 CPU-seconds per 4,000-document job on this 2-core machine, CPU the worker then lacks; the CPU each process spent during the job is listed below.\n` +
          `- **in-process**: the engine in this process, \`FlagReranker.computeScore\` of the same pairs in one call, the same intra-op threads (${threads}).\n` +
          `The two alternate (in-process, job, in-process, job, ...), after a warm-up of each (tiny: the whole workload each, since a session pays once for every new batch shape and with the tiny model that is a large part of a run; MiniLM: 1,000 documents each). The tiny preset (2 layers, hidden 32) makes the job overhead-dominated, the hard case; the MiniLM-size model is compute-dominated. ` +
          `The job's scores are checked against the in-process ones (\`?all=true\`).`,
        `- **POST → 202**: ${ctx.options.quick ? 10 : 20} submissions of the whole body after 2 untimed ones, timed at the client, with the workers stopped so that nothing competes for the CPU; each job is cancelled (\`DELETE\`) right after its 202, untimed.\n` +
          "- **memory**: Redis `used_memory` sampled every second during the jobs and `used_memory_peak`; `used_memory` once the TTL has passed (the job's keys gone); the workers' `VmRSS` (sampled) and `VmHWM` from `/proc/<pid>/status`.",
        ...specs.map(
          (s) =>
            `**${s.preset}: ${s.documents.toLocaleString('en-US')} documents × ${s.queries}**: ${s.rounds === 1 ? 'one A/B round' : `${s.rounds} A/B rounds`}.`,
        ),
      ],
      rows,
      metrics,
      notes: [],
    };
  },
};
