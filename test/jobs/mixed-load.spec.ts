/**
 * Issue 13, mixed load, with real processes on a real Redis: one worker (two shard slots, one
 * runtime thread) busy with tenant A's big job. A synchronous request and tenant B's small job,
 * sent after it, overtake the big job's queued shards; the big job still progresses and completes;
 * every score equals the engine's in-process score exactly.
 */
import { AutoReranker, type FlagReranker } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir } from '../support/model';
import { waitFor } from '../support/processes';

jest.setTimeout(300000);

const ALICE = 'key-alice-mixed-000';
const BOB = 'key-bob-mixed-0000';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const BIG = { query: 'where is the old library near the harbor', documents: makeDocuments(3000, 1313, 4, 40) };
const SMALL = { query: 'alpha river', documents: makeDocuments(200, 77, 4, 40) };
const SYNC = { query: 'omega harbor', documents: makeDocuments(10, 5, 4, 40) };
/** Pairs per shard: the big job is 30 shards. */
const SHARD_PAIRS = 100;

let cluster: Cluster;
let engine: FlagReranker;
let worker: { stop(): Promise<unknown> } | undefined;

async function engineScores(query: string, documents: string[]): Promise<number[]> {
  return engine.computeScore(documents.map((d) => [query, d] as [string, string]));
}

/** Every score of a completed job (?all=true), by document index. */
async function jobScores(id: string, key: string): Promise<number[]> {
  const r = await fetch(`${cluster.client.base}/v1/jobs/${id}/results?all=true`, { headers: auth(key) });
  expect(r.status).toBe(200);
  const lines = (await r.text())
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { index: number; score: number });
  const scores: number[] = [];
  for (const l of lines) scores[l.index] = l.score;
  return scores;
}

async function view(id: string, key: string): Promise<any> {
  const r = await cluster.client.request('GET', `/v1/jobs/${id}`, undefined, auth(key));
  expect(r.status).toBe(200);
  return r.body;
}

/** Polls a job of this key until it ended. */
async function waitDone(id: string, key: string, timeoutMs: number): Promise<any> {
  return waitFor(
    `job ${id} ended`,
    async () => {
      const v = await view(id, key);
      return ['completed', 'failed', 'cancelled'].includes(v.status) ? v : undefined;
    },
    timeoutMs,
    50,
  );
}

beforeAll(async () => {
  const dir = await testEncoderDir();
  engine = (await AutoReranker.fromFinetuned(dir, { devices: ['cpu'], intraOpNumThreads: 1 })) as FlagReranker;
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    env: {
      RERANK_THREADS: '1',
      RERANK_SHARD_MAX_PAIRS: String(SHARD_PAIRS),
      RERANK_WORKER_CONCURRENCY: '2',
      RERANK_API_KEYS: `alice:${ALICE},bob:${BOB}`,
    },
  });
  worker = await cluster.startWorker();
});

afterAll(async () => {
  await worker?.stop();
  await cluster?.stop();
  await engine?.close();
});

test("a sync request and a second tenant's job overtake a big job's queued shards; the big job still progresses; scores equal the engine's", async () => {
  const big = await cluster.client.post('/v1/jobs', { model: 'tiny', ...BIG, top_k: 5 }, auth(ALICE));
  expect(big.status).toBe(202);
  expect(big.body.progress.shards_total).toBe(30);
  await waitFor(
    'the big job running',
    async () => ((await view(big.body.id, ALICE)).progress.shards_done >= 2 ? true : undefined),
    120000,
    50,
  );

  // Tenant B: a small job, then a synchronous request, while 20+ of the big job's shards wait.
  const small = await cluster.client.post('/v1/jobs', { model: 'tiny', ...SMALL, top_k: 5 }, auth(BOB));
  expect(small.status).toBe(202);
  // RERANK_SHARD_MIN_COUNT cuts even a small job into several shards.
  const smallShards: number = small.body.progress.shards_total;
  expect(smallShards).toBeGreaterThan(1);
  const bigAtSmall = (await view(big.body.id, ALICE)).progress.shards_done;
  const sync = await cluster.client.post('/v1/rerank', { model: 'tiny', ...SYNC, top_n: 10, normalize: false }, auth(BOB));
  expect(sync.status).toBe(200);
  const bigAtSync = await view(big.body.id, ALICE);
  // The request did not wait for the big job's queued shards: most of them are still to do.
  expect(bigAtSync.status).toBe('running');
  expect(bigAtSync.progress.shards_done).toBeLessThan(20);
  const syncExpected = await engineScores(SYNC.query, SYNC.documents);
  for (const r of sync.body.results) expect(r.relevance_score).toBe(syncExpected[r.index]);
  expect(sync.body.results).toHaveLength(10);

  const smallView = await waitDone(small.body.id, BOB, 120000);
  expect(smallView.status).toBe('completed');
  const bigAtSmallDone = await view(big.body.id, ALICE);
  // Fair shares, not first come first served: the small job ended after about as many of the big
  // job's shards as it had (one each per round, plus those in flight), not after all queued ones.
  expect(bigAtSmallDone.status).toBe('running');
  expect(bigAtSmallDone.progress.shards_done - bigAtSmall).toBeLessThanOrEqual(smallShards + 4);
  expect(bigAtSmallDone.progress.shards_done).toBeLessThan(30);

  // The big job kept going and completes with every pair scored exactly as in-process.
  const bigView = await waitDone(big.body.id, ALICE, 240000);
  expect(bigView.status).toBe('completed');
  expect(bigView.progress.shards_done).toBe(30);
  expect(await jobScores(big.body.id, ALICE)).toEqual(await engineScores(BIG.query, BIG.documents));
  // The small job: its top-k equals the engine's ranking, scores exactly.
  const smallExpected = await engineScores(SMALL.query, SMALL.documents);
  const top = smallExpected
    .map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, 5);
  const results = await cluster.client.request('GET', `/v1/jobs/${small.body.id}/results`, undefined, auth(BOB));
  expect(results.body.results[0].top_k.map((x: { index: number; score: number }) => ({ index: x.index, score: x.score }))).toEqual(top);
});
