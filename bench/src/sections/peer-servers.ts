/**
 * The peers section's server rows: this service (API → Redis → one CPU worker → API, the `npm start`
 * processes on a redis-server of their own) against the Infinity server (`infinity-emb`, its /rerank
 * endpoint, in its own environment .venv-peers) on the same checkpoint (Infinity) and its ONNX export
 * (the service), the same threads, the same requests (1 query × D documents each), at 1, 8 and 32
 * concurrent clients, timed alternating per concurrency level.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '@rerank/harness';
import type { Pair } from '@rerank/engine';
import { alternate, fmt, now, percentile, row } from '../measure';
import { Stack, threadsEnv } from '../stack/stack';
import type { BenchContext, Metric, Row } from '../types';

export const SERVER = {
  service: 'this service: POST /v1/rerank (API, Redis, one CPU worker)',
  infinity: 'Infinity 0.0.78: POST /rerank (torch engine)',
};

/** One closed-loop load: `clients` clients sending `requests` requests in all, each as soon as its last is answered. */
export interface LoadSpec {
  clients: number;
  requests: number;
  documents: number;
}

type Send = (query: string, documents: string[]) => Promise<number[]>;

async function load(send: Send, requests: { query: string; documents: string[] }[], clients: number, latencies: number[]): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < requests.length) {
      const r = requests[next++];
      const t = now();
      const scores = await send(r.query, r.documents);
      latencies.push(now() - t);
      if (scores.length !== r.documents.length) throw new Error(`expected ${r.documents.length} scores, got ${scores.length}`);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(600_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

interface RerankAnswer {
  results: { index: number; relevance_score: number }[];
}

function byIndex(a: RerankAnswer, n: number): number[] {
  const out = new Array<number>(n);
  for (const r of a.results) out[r.index] = r.relevance_score;
  return out.filter((x) => x !== undefined);
}

/** The Infinity server on a free loopback port, ready when this resolves. */
async function startInfinity(
  venv: string,
  checkpoint: string,
  threads: number,
  log: (m: string) => void,
): Promise<{ base: string; proc: ChildProcess; output: () => string }> {
  const port = await freePort();
  const t = String(threads);
  let output = '';
  const proc = spawn(
    join(venv, 'bin', 'infinity_emb'),
    [
      'v2',
      '--model-id',
      checkpoint,
      '--served-model-name',
      'minilm',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--engine',
      'torch',
      '--device',
      'cpu',
      '--no-bettertransformer',
      '--dtype',
      'float32',
      '--batch-size',
      '32',
    ],
    {
      env: {
        ...process.env,
        OMP_NUM_THREADS: t,
        MKL_NUM_THREADS: t,
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        INFINITY_ANONYMOUS_USAGE_STATS: '0',
        DO_NOT_TRACK: '1',
        TOKENIZERS_PARALLELISM: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  const base = `http://127.0.0.1:${port}`;
  log(`[peers] starting Infinity on ${base}`);
  await waitFor(
    `Infinity on ${base}`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`infinity_emb exited ${proc.exitCode}: ${output.slice(-3000)}`);
      const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    },
    300_000,
    500,
  );
  return { base, proc, output: () => output };
}

export async function compareServers(
  ctx: BenchContext,
  opts: { venv: string; checkpoint: string; onnx: string; pairs: Pair[]; levels: LoadSpec[] },
): Promise<{ rows: Row[]; metrics: Metric[]; notes: string[] }> {
  const { threads, runs } = ctx.options;
  const rows: Row[] = [];
  const metrics: Metric[] = [];
  const notes: string[] = [];
  if (!existsSync(join(opts.venv, 'bin', 'infinity_emb'))) {
    notes.push(
      `Infinity skipped: run \`npm run setup:python -- --peers\` (its own environment ${opts.venv}, which is missing: infinity-emb pins numpy 1.x and click 8.1, which the main environment's schemathesis and onnx do not take)`,
    );
    return { rows, metrics, notes };
  }
  // Requests: each of the corpus's queries with the next D passages.
  const texts = opts.pairs;
  const makeRequests = (spec: LoadSpec) =>
    Array.from({ length: spec.requests }, (_, i) => ({
      query: texts[(i * 7) % texts.length][0],
      documents: Array.from({ length: spec.documents }, (_, j) => texts[(i * spec.documents + j) % texts.length][1]),
    }));

  const stack = await Stack.start({
    model: { name: 'minilm', path: opts.onnx },
    resultTtlSeconds: 300,
    // 32 clients × 100 documents queue ~3,200 pairs: past the default 30 s a sync request answers 504
    // (RERANK_SYNC_TIMEOUT_MS); Infinity has no such bound, so both wait here as long as it takes.
    env: {
      RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
      RERANK_RATE_LIMIT_PAIRS_PER_MINUTE: '0',
      RERANK_RATE_LIMIT_ACTIVE_JOBS: '0',
      RERANK_SYNC_TIMEOUT_MS: '600000',
    },
  });
  let infinity: Awaited<ReturnType<typeof startInfinity>> | undefined;
  try {
    await stack.startWorkers(['cpu'], threadsEnv(threads));
    infinity = await startInfinity(opts.venv, opts.checkpoint, threads, ctx.log);
    const inf = infinity;
    const sendService: Send = async (query, documents) =>
      byIndex(
        (await postJson(`${stack.base}/v1/rerank`, { model: 'minilm', query, documents, normalize: false })) as RerankAnswer,
        documents.length,
      );
    const sendInfinity: Send = async (query, documents) =>
      byIndex(
        (await postJson(`${inf.base}/rerank`, {
          model: 'minilm',
          query,
          documents,
          return_documents: false,
          raw_scores: true,
        })) as RerankAnswer,
        documents.length,
      );

    // Same weights: the first request's scores from both (the service's raw logits against Infinity's).
    const probe = makeRequests({ clients: 1, requests: 1, documents: opts.levels[0].documents })[0];
    const [a, b] = [await sendService(probe.query, probe.documents), await sendInfinity(probe.query, probe.documents)];
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const rawDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    const sigDiff = Math.max(...a.map((x, i) => Math.abs(sigmoid(x) - b[i])));
    metrics.push({
      group: 'servers',
      name: "max |service − Infinity| on one request (raw logits; Infinity's raw_scores)",
      value: Math.min(rawDiff, sigDiff).toExponential(1),
      notes: rawDiff <= sigDiff ? 'compared raw' : 'Infinity answered sigmoid scores: compared after the sigmoid',
    });

    for (const spec of opts.levels) {
      const requests = makeRequests(spec);
      const n = spec.requests * spec.documents;
      const group = `servers: ${spec.clients} concurrent client${spec.clients === 1 ? '' : 's'}, ${spec.requests} requests of 1 query × ${spec.documents} documents`;
      const latency: Record<string, number[]> = { [SERVER.service]: [], [SERVER.infinity]: [] };
      ctx.log(`[peers] ${group}`);
      const alt = await alternate(
        [
          {
            name: SERVER.service,
            warmup: () => load(sendService, requests.slice(0, spec.clients), spec.clients, []),
            run: () => load(sendService, requests, spec.clients, latency[SERVER.service]),
          },
          {
            name: SERVER.infinity,
            warmup: () => load(sendInfinity, requests.slice(0, spec.clients), spec.clients, []),
            run: () => load(sendInfinity, requests, spec.clients, latency[SERVER.infinity]),
          },
        ],
        runs,
      );
      const alternation = `peers/${group}`;
      [SERVER.service, SERVER.infinity].forEach((name, i) => {
        const l = latency[name];
        rows.push({
          ...row(
            'peers',
            group,
            name,
            n,
            alt.measurements[i],
            `latency per request (every timed attempt, redone ones included) p50 ${fmt(percentile(l, 50), 3)} s, p95 ${fmt(percentile(l, 95), 3)} s`,
            i === 0,
          ),
          alternation,
        });
        metrics.push({
          group,
          name: `${name.split(':')[0]}: latency p50 / p95`,
          value: `${fmt(percentile(l, 50), 3)} / ${fmt(percentile(l, 95), 3)}`,
          unit: 's',
        });
      });
    }
  } catch (e) {
    notes.push(
      `Infinity comparison failed: ${(e as Error).message.split('\n')[0]}${infinity ? `; Infinity's output: ${infinity.output().slice(-500).replace(/\n/g, ' ')}` : ''}`,
    );
  } finally {
    infinity?.proc.kill('SIGTERM');
    await stack.stop();
  }
  return { rows, metrics, notes };
}
