/**
 * Issue 13, mixed load, with real processes on a real Redis: one worker (one shard slot and no
 * tenant slots, so the order of its shard lines is the order the queue handed shards out; one
 * runtime thread) busy with tenant A's big job. A's second job, tenant B's small job and B's
 * synchronous request, sent after it, overtake the big job's queued shards (fair shares by cost
 * across tenants, B back from idle with a bounded credit, then across A's jobs); the big job still
 * progresses between them and completes; every score equals the engine's in-process score exactly.
 * tenant-slots.spec.ts covers the worker's tenant slots.
 */
import { type FlagReranker } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, referenceEngine } from '../support/model';
import { waitFor } from '../support/processes';

jest.setTimeout(300000);

const ALICE = 'key-alice-mixed-000';
const BOB = 'key-bob-mixed-0000';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const BIG = { query: 'where is the old library near the harbor', documents: makeDocuments(4000, 1313, 4, 40) };
const SMALL = { query: 'alpha river', documents: makeDocuments(200, 77, 4, 40) };
const SECOND = { query: 'beta mountain pass', documents: makeDocuments(200, 91, 4, 40) };
const SYNC = { query: 'omega harbor', documents: makeDocuments(10, 5, 4, 40) };
/** Pairs per shard: the big job is 40 shards. */
const SHARD_PAIRS = 100;

let cluster: Cluster;
let engine: FlagReranker;
let worker: Awaited<ReturnType<Cluster['startWorker']>> | undefined;

async function engineScores(query: string, documents: string[]): Promise<number[]> {
  return engine.computeScore(documents.map((d) => [query, d] as [string, string]));
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
  engine = await referenceEngine(dir);
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    env: {
      RERANK_THREADS: '1',
      RERANK_SHARD_MAX_PAIRS: String(SHARD_PAIRS),
      RERANK_WORKER_CONCURRENCY: '1',
      RERANK_WORKER_TENANT_SLOTS: '0',
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

/** The jobs of the shards the worker scored, in the order it scored (= started: one slot) them. */
function shardOrder(output: string): { job: string; n: number }[] {
  return [...output.matchAll(/shard (\d+) of job (\S+) scored/g)].map((m) => ({ job: m[2], n: Number(m[1]) }));
}

async function expectEngineScores(id: string, key: string, body: { query: string; documents: string[] }): Promise<void> {
  expect(await cluster.client.withKey(key).allScores(id)).toEqual(await engineScores(body.query, body.documents));
}

test("a sync request, the tenant's second job and another tenant's job overtake a big job's queued shards; the big job still progresses; scores equal the engine's", async () => {
  const big = await cluster.client.post('/v1/jobs', { model: 'tiny', ...BIG, top_k: 5 }, auth(ALICE));
  expect(big.status).toBe(202);
  expect(big.body.progress.shards_total).toBe(40);
  await waitFor(
    'the big job running',
    async () => ((await view(big.body.id, ALICE)).progress.shards_done >= 1 ? true : undefined),
    120000,
    20,
  );

  // Tenant A's second job and tenant B's small job while most of the big job's shards wait.
  const second = await cluster.client.post('/v1/jobs', { model: 'tiny', ...SECOND, top_k: 5 }, auth(ALICE));
  expect(second.status).toBe(202);
  const small = await cluster.client.post('/v1/jobs', { model: 'tiny', ...SMALL, top_k: 5 }, auth(BOB));
  expect(small.status).toBe(202);
  // RERANK_SHARD_MIN_COUNT cuts even a small job into several shards (of about a third of a big one's pairs).
  expect(small.body.progress.shards_total).toBeGreaterThan(1);
  expect(second.body.progress.shards_total).toBeGreaterThan(1);

  // B's synchronous request: it does not wait for the big job's queued shards.
  const sync = await cluster.client.post('/v1/rerank', { model: 'tiny', ...SYNC, top_n: 10, normalize: false }, auth(BOB));
  expect(sync.status).toBe(200);
  const bigAtSync = await view(big.body.id, ALICE);
  expect(bigAtSync.status).toBe('running');
  expect(bigAtSync.progress.shards_done).toBeLessThan(30);
  const syncExpected = await engineScores(SYNC.query, SYNC.documents);
  for (const r of sync.body.results) expect(r.relevance_score).toBe(syncExpected[r.index]);
  expect(sync.body.results).toHaveLength(10);

  for (const [id, key] of [
    [small.body.id, BOB],
    [second.body.id, ALICE],
    [big.body.id, ALICE],
  ])
    expect((await waitDone(id, key, 240000)).status).toBe('completed');

  // The order shards started in: each shard once.
  const order = shardOrder(worker!.output());
  const count = (job: string) => order.filter((s) => s.job === job).length;
  expect([count(big.body.id), count(second.body.id), count(small.body.id)]).toEqual([
    40,
    second.body.progress.shards_total,
    small.body.progress.shards_total,
  ]);
  const newcomer = (s: { job: string }) => s.job === second.body.id || s.job === small.body.id;
  const first = order.findIndex(newcomer);
  const last = order.length - 1 - [...order].reverse().findIndex(newcomer);
  const bigBefore = order.slice(0, first).filter((s) => s.job === big.body.id).length;
  const bigBetween = order.slice(first, last + 1).filter((s) => s.job === big.body.id).length;
  const bigAfter = order.slice(last + 1).filter((s) => s.job === big.body.id).length;
  // Not first come first served: B's and A's second job's shards all started before most of the big
  // job's remaining ones (FIFO would start them after all 40) ...
  expect(bigAfter).toBeGreaterThan(bigBetween);
  // ... with the big job still progressing among them (it shares, it never starves: by cost, about
  // one big shard per three small ones of each newcomer), but not ahead of them.
  expect(bigBetween).toBeGreaterThanOrEqual(1);
  expect(bigBetween).toBeLessThanOrEqual(4);
  expect(bigBefore + bigBetween + bigAfter).toBe(40);
  // B comes back from idle with the fairness credit (TENANT_CREDIT_MS at the model's throughput, in cost ahead of the queue's head)
  // that covers its small job: once its first shard started, all of it runs before any more of A's
  // waiting work (A's second job, sent first, may have started a shard before B's job arrived).
  const firstSmall = order.findIndex((s) => s.job === small.body.id);
  const lastSmall = order.map((s) => s.job).lastIndexOf(small.body.id);
  expect(order.slice(firstSmall, lastSmall + 1).every((s) => s.job === small.body.id)).toBe(true);
  expect(order.slice(lastSmall + 1).filter((s) => s.job === second.body.id).length).toBeGreaterThan(0);

  // Every job's scores, exactly as in-process.
  await expectEngineScores(big.body.id, ALICE, BIG);
  await expectEngineScores(second.body.id, ALICE, SECOND);
  await expectEngineScores(small.body.id, BOB, SMALL);
});
