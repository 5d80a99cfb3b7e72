/**
 * Model placement on real processes: two workers serving different models (RERANK_WORKER_MODELS), a
 * third configured model that no worker serves. Each model's jobs and requests are scored only by its
 * worker (heartbeat counters), with the in-process engine's exact scores; the unserved model gets 503
 * with Retry-After and nothing is stored; /v1/models shows where each model runs.
 */
import { type FlagReranker } from '@rerank/engine';
import { modelQueues, type WorkerHeartbeat } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir, referenceEngine } from '../support/model';
import { type AppProcess, waitFor } from '../support/processes';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(300000);

let dir: string;
let engine: FlagReranker;
let cluster: Cluster;
let alpha: AppProcess;
let beta: AppProcess;

const beat = async (p: AppProcess): Promise<WorkerHeartbeat> => (await cluster.workers()).find((w) => w.pid === p.proc.pid)!;

beforeAll(async () => {
  dir = await testEncoderDir();
  engine = await referenceEngine(dir);
  cluster = await Cluster.start({
    models: [
      { name: 'alpha', path: dir },
      { name: 'beta', path: dir },
      { name: 'org/idle:v1', path: dir },
    ],
    // RERANK_REFUSE_UNSERVED left at its default (all): jobs for an unserved model are refused too.
    env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '20' },
  });
  alpha = await cluster.startWorker({ RERANK_WORKER_MODELS: 'alpha' });
  beta = await cluster.startWorker({ RERANK_WORKER_MODELS: 'beta' });
});

afterAll(async () => {
  await Promise.allSettled([alpha?.stop(), beta?.stop()]);
  await cluster?.stop();
  await engine?.close();
  removeTestModels();
});

it('each worker loads and advertises only its models', async () => {
  expect((await beat(alpha)).models.map((m) => m.name)).toEqual(['alpha']);
  expect((await beat(beta)).models.map((m) => m.name)).toEqual(['beta']);
  expect(modelQueues('org/idle:v1')).toEqual({ shards: 'shards.org%2Fidle%3Av1', sync: 'sync.org%2Fidle%3Av1' });
});

it('/v1/models shows where each model runs', async () => {
  const r = await cluster.client.get('/v1/models');
  expect(r.status).toBe(200);
  const byId = Object.fromEntries(r.body.data.map((m: { id: string }) => [m.id, m]));
  const a = await beat(alpha);
  const b = await beat(beta);
  expect(byId.alpha).toMatchObject({
    ready: true,
    workers: [{ id: a.id, device: 'cpu', host: a.host }],
    devices: ['cpu'],
    hosts: [a.host],
  });
  expect(byId.beta).toMatchObject({ ready: true, workers: [{ id: b.id, device: 'cpu', host: b.host }], devices: ['cpu'], hosts: [b.host] });
  expect(byId['org/idle:v1']).toMatchObject({ ready: false, workers: [], devices: [], hosts: [] });
});

it("a job for each model is scored only by that model's worker, with the engine's scores", async () => {
  for (const [model, own, other] of [
    ['alpha', alpha, beta],
    ['beta', beta, alpha],
  ] as const) {
    const ownBefore = (await beat(own)).pairsScored;
    const otherBefore = (await beat(other)).pairsScored;
    const docs = makeDocuments(60, model.length, 4, 20);
    const query = `query for ${model}`;
    const created = await cluster.client.post('/v1/jobs', { model, query, documents: docs, top_k: 5 });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    expect(created.body.progress.shards_total).toBe(3);
    expect((await cluster.client.waitJob(id, 120000, undefined, 100)).status).toBe('completed');
    const all = await cluster.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
    expect(all.body.results[0].scores).toEqual(await engine.computeScore(docs.map((d) => [query, d] as [string, string])));
    // Heartbeats come every 2 s: wait for the counter, then check the other worker scored nothing.
    await waitFor(
      `${model}'s worker counts 60 pairs`,
      async () => ((await beat(own)).pairsScored - ownBefore === 60 ? true : undefined),
      20000,
      200,
    );
    expect((await beat(other)).pairsScored).toBe(otherBefore);
  }
});

it("a synchronous request goes to its model's worker", async () => {
  const betaBefore = (await beat(beta)).pairsScored;
  const alphaBefore = (await beat(alpha)).pairsScored;
  const r = await cluster.client.post('/v1/rerank', {
    model: 'beta',
    query: 'q river',
    documents: ['a river', 'b stone', 'c'],
    normalize: false,
  });
  expect(r.status).toBe(200);
  const expected = await engine.computeScore([
    ['q river', 'a river'],
    ['q river', 'b stone'],
    ['q river', 'c'],
  ]);
  const byIndex = new Map(r.body.results.map((x: { index: number; relevance_score: number }) => [x.index, x.relevance_score]));
  expect([0, 1, 2].map((i) => byIndex.get(i))).toEqual(expected);
  // The counters count synchronous pairs too: beta's worker scored the 3 pairs (its next heartbeat shows them), alpha's none.
  await waitFor(
    "beta's worker counts the 3 pairs",
    async () => ((await beat(beta)).pairsScored - betaBefore === 3 ? true : undefined),
    20000,
    200,
  );
  expect((await beat(alpha)).pairsScored).toBe(alphaBefore);
});

it('a model with no live worker: 503 unavailable with Retry-After for requests and jobs (the default), nothing stored', async () => {
  expect(cluster.env.RERANK_REFUSE_UNSERVED).toBeUndefined();
  const before = await cluster.footprint();
  const allKeys = async () => (await cluster.redis.client.keys('*')).filter((k) => !/^rerank:worker|stalled-check|:meta$/.test(k)).sort();
  const keysBefore = await allKeys();
  const sync = await cluster.client.post('/v1/rerank', { model: 'org/idle:v1', query: 'q', documents: ['a', 'b'] });
  expect(sync.status).toBe(503);
  expect(sync.headers.get('retry-after')).toBe('5');
  expect(sync.body.error.code).toBe('unavailable');
  expect(sync.body.error.message).toMatch(/^model "org\/idle:v1" has no live worker \(live workers serve alpha, beta\)/);
  const job = await cluster.client.post('/v1/jobs', { model: 'org/idle:v1', query: 'q', documents: ['a', 'b'] });
  expect(job.status).toBe(503);
  expect(job.headers.get('retry-after')).toBe('5');
  expect(job.body.error.code).toBe('unavailable');
  expect(job.body.error.message).toMatch(/^model "org\/idle:v1" has no live worker .*; nothing was stored$/);
  // Nothing new: no key appears and no shard is queued. (Keys may go: the backpressure check drops the
  // pending-pairs entries of the earlier tests' ended jobs, and the last one takes the hash with it.)
  const after = await cluster.footprint();
  expect(after.keys.filter((k) => !before.keys.includes(k))).toEqual([]);
  expect(after.counts).toEqual(before.counts);
  expect((await allKeys()).filter((k) => !keysBefore.includes(k))).toEqual([]);
  // BullMQ's queue metadata (written when a Queue object is opened, e.g. by the metrics gauges) aside, the model's queues hold nothing.
  expect((await cluster.redis.client.keys('rerank:q:*idle*')).filter((k) => !k.endsWith(':meta'))).toEqual([]);
  expect(await new JobInspector(cluster.redis.client).jobIds()).toHaveLength(2);
});

it('the API stays ready while some model has a live worker: the unserved one is refused per request, not by readiness', async () => {
  const r = await cluster.client.get('/health/ready');
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ status: 'ok', redis: 'ok', models: { alpha: 1, beta: 1, 'org/idle:v1': 0 } });
});
