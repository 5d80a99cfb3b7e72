/**
 * The HTTP API against real processes (API, aggregator, one worker) on a real Redis: health, models,
 * OpenAPI, synchronous rerank (Cohere / Jina shapes), keys, idempotency, cancel. Bad input: hostile-input.spec.ts.
 */
import { AutoReranker, type FlagReranker } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { ApiClient } from '../support/http';
import { testEncoderDir, testLayerwiseDir, removeTestModels, referenceEngine } from '../support/model';
import { waitFor } from '../support/processes';
import { type Receiver, startReceiver } from '../support/webhook-receiver';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(120000);

const ALICE = 'alice-key-0123';
const BOB = 'bob-key-456789';

let cluster: Cluster;
let alice: ApiClient;
let bob: ApiClient;
let anon: ApiClient;
let engine: FlagReranker;
let layerwiseDir: string;

/** Shards the one worker scores at once (the default). */
const WORKER_CONCURRENCY = 2;

beforeAll(async () => {
  const dir = await testEncoderDir();
  layerwiseDir = await testLayerwiseDir();
  cluster = await Cluster.start({
    models: [
      { name: 'tiny', path: dir },
      { name: 'layers', path: layerwiseDir },
    ],
    devices: 'cpu',
    env: {
      RERANK_API_KEYS: `alice:${ALICE},bob:${BOB}`,
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_MAX_BODY_BYTES: '200000',
      RERANK_MAX_DOCUMENTS: '3000',
      RERANK_MAX_DOCUMENT_CHARS: '2000',
      RERANK_MAX_QUERIES: '5',
      RERANK_MAX_PAIRS: '5000',
      RERANK_MAX_TOP_K: '50',
      RERANK_SYNC_MAX_DOCUMENTS: '20',
      RERANK_SHARD_MAX_PAIRS: '50',
      RERANK_WEBHOOK_BACKOFF_MS: '200',
      RERANK_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    },
  });
  alice = cluster.client.withKey(ALICE);
  bob = cluster.client.withKey(BOB);
  anon = cluster.client;
  engine = await referenceEngine(dir);
});

afterAll(async () => {
  await engine?.close();
  await cluster?.stop();
  removeTestModels();
});

describe('health, models, OpenAPI', () => {
  it('is live and ready once a worker has the model loaded', async () => {
    expect((await anon.get('/health/live')).body).toEqual({ status: 'ok' });
    const ready = await anon.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', redis: 'ok', workers: { ready: 1 }, models: { tiny: 1, layers: 1 } });
  });

  it('lists the configured models, labelled as generated test models', async () => {
    expect((await anon.get('/v1/models')).status).toBe(401);
    const r = await alice.get('/v1/models');
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(2);
    expect(r.body.data[1]).toMatchObject({ id: 'layers', family: 'layerwise', generated_test_model: true, ready: true });
    expect(r.body.data[0]).toMatchObject({ id: 'tiny', object: 'model', family: 'encoder', generated_test_model: true, ready: true });
    expect(r.body.data[0].note).toMatch(/GENERATED TEST MODEL/);
    expect(r.body.data[0].workers[0].device).toBe('cpu');
  });

  it('serves its OpenAPI document and UI', async () => {
    const doc = await anon.get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/rerank',
        '/v2/rerank',
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/results',
        '/v1/models',
        '/health/ready',
      ]),
    );
    // Request bodies are named component schemas (a generated client gets real types, not never).
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.paths['/v1/jobs'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/JobRequest',
    });
    expect(doc.body.components.schemas.JobRequest.properties.top_k).toBeDefined();
    const ui = await fetch(`${anon.base}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
  });

  it('answers unknown routes with the error shape', async () => {
    const r = await alice.get('/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'not_found' });
    expect(r.body.error.message).toMatch(/\/docs/);
  });
});

/** Bad input (4xx naming the field, nothing stored) is the table of test/api/hostile-input.spec.ts. */
const manyDocs = (n: number, chars = 10) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(chars, 'x'));

describe('synchronous rerank (scored by the worker)', () => {
  const docs = [
    'Paris is the capital of France.',
    'The river flows to the ocean.',
    'France borders Spain.',
    'Capital cities have many museums.',
  ];
  const query = 'capital of France';

  it('answers Cohere v1 requests with the engine scores (0..1 as Cohere, sigmoid by default), best first', async () => {
    const expected = await engine.computeScore(
      docs.map((d) => [query, d] as [string, string]),
      { normalize: true },
    );
    const r = await alice.post('/v1/rerank', { model: 'tiny', query, documents: docs, top_n: 3, return_documents: true });
    expect(r.status).toBe(200);
    expect(typeof r.body.id).toBe('string');
    expect(r.body.meta.api_version.version).toBe('1');
    expect(r.body.model).toBe('tiny');
    const order = docs
      .map((_, i) => i)
      .sort((a, b) => expected[b] - expected[a] || a - b)
      .slice(0, 3);
    expect(r.body.results).toEqual(order.map((i) => ({ index: i, relevance_score: expected[i], document: { text: docs[i] } })));
  });

  it('answers Cohere v2 requests (all documents when top_n is absent, no texts unless asked)', async () => {
    const r = await alice.post('/v2/rerank', { model: 'tiny', query, documents: docs });
    expect(r.status).toBe(200);
    expect(r.body.meta.api_version.version).toBe('2');
    expect(r.body.results).toHaveLength(4);
    expect(r.body.results[0].document).toBeUndefined();
    const scores = r.body.results.map((x: any) => x.relevance_score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('gives raw model scores with normalize: false', async () => {
    const expected = await engine.computeScore(docs.map((d) => [query, d] as [string, string]));
    const r = await alice.post('/v1/rerank', { model: 'tiny', query, documents: docs, normalize: false });
    expect(r.status).toBe(200);
    for (const x of r.body.results) expect(x.relevance_score).toBe(expected[x.index]);
  });

  it('answers Jina-shaped requests ({text} documents)', async () => {
    const r = await alice.post('/v1/rerank', {
      model: 'tiny',
      query,
      documents: docs.map((text) => ({ text })),
      top_n: 2,
      return_documents: true,
    });
    expect(r.status).toBe(200);
    const expected = await engine.computeScore(
      docs.map((d) => [query, d] as [string, string]),
      { normalize: true },
    );
    for (const x of r.body.results) {
      expect(x.relevance_score).toBe(expected[x.index]);
      expect(x.document).toEqual({ text: docs[x.index] });
      expect(x.relevance_score).toBeGreaterThan(0);
      expect(x.relevance_score).toBeLessThan(1);
    }
  });

  it('sends requests too large for synchronous work to /v1/jobs (413)', async () => {
    const r = await alice.post('/v1/rerank', { model: 'tiny', query, documents: manyDocs(21) });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({
      code: 'too_large_for_sync',
      field: 'documents',
      jobs_url: '/v1/jobs',
      limit: { value: 20, env: 'RERANK_SYNC_MAX_DOCUMENTS' },
    });
    expect(r.body.error.message).toMatch(/POST \/v1\/jobs/);
  });
});

describe('jobs: keys, idempotency, cancel', () => {
  const body = {
    model: 'tiny',
    queries: [
      { id: 'q1', query: 'alpha' },
      { id: 'q2', query: 'omega river' },
    ],
    documents: makeDocuments(30, 5).map((text, i) => ({ id: `d${i}`, text })),
    top_k: 3,
    metadata: { run: 7 },
  };

  it('needs a valid key', async () => {
    const none = await anon.post('/v1/jobs', body);
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/Authorization: Bearer/);
    expect((await anon.withKey('nope-nope-nope').post('/v1/jobs', body)).status).toBe(401);
  });

  it('runs a small job and shows it only to the key that created it', async () => {
    const created = await alice.post('/v1/jobs', body);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'queued', links: { self: `${alice.base}/v1/jobs/${created.body.id}` } });
    const done = await alice.waitJob(created.body.id, 30000);
    expect(done).toMatchObject({
      status: 'completed',
      metadata: { run: 7 },
      progress: { shards_done: 2, shards_total: 2, pairs_done: 60, pairs_total: 60 },
      error: null,
    });
    expect(done.timings.total_ms).toBeGreaterThan(0);
    const res = await alice.get(`/v1/jobs/${created.body.id}/results`);
    expect(res.status).toBe(200);
    expect(res.body.results.map((q: any) => q.query_id)).toEqual(['q1', 'q2']);
    for (const q of res.body.results) {
      expect(q.top_k).toHaveLength(3);
      expect(q.top_k[0]).toEqual({
        index: expect.any(Number),
        id: `d${q.top_k[0].index}`,
        score: expect.any(Number),
        document: { text: body.documents[q.top_k[0].index].text },
      });
      const expected = await engine.computeScore(body.documents.map((d) => [q.query, d.text] as [string, string]));
      expect(q.top_k.map((x: any) => x.score)).toEqual(q.top_k.map((x: any) => expected[x.index]));
    }
    // ?all=true is JSON lines whatever the size (60 pairs here), one per pair, query by query.
    const all = await alice.get(`/v1/jobs/${created.body.id}/results?all=true`);
    expect(all.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = all.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(60);
    const expected1 = await engine.computeScore(body.documents.map((d) => ['omega river', d.text] as [string, string]));
    expect(lines.slice(30)).toEqual(expected1.map((score, i) => ({ query_index: 1, query_id: 'q2', index: i, id: `d${i}`, score })));
    const asJson = await alice.get(`/v1/jobs/${created.body.id}/results?all=true&format=json`);
    expect(asJson.headers.get('content-type')).toMatch(/application\/json/);
    expect(asJson.body.results[1].scores).toEqual(expected1);

    for (const [method, path] of [
      ['GET', `/v1/jobs/${created.body.id}`],
      ['GET', `/v1/jobs/${created.body.id}/results`],
      ['DELETE', `/v1/jobs/${created.body.id}`],
    ]) {
      const r = await bob.request(method, path);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    expect((await alice.get('/v1/jobs/job_doesnotexist')).status).toBe(404);
  });

  it("returns every layer's score for several cutoff layers, ranking by the last", async () => {
    const docs = makeDocuments(12, 8);
    const created = await alice.post('/v1/jobs', { model: 'layers', query: 'alpha', documents: docs, cutoff_layers: [1, 2], top_k: 4 });
    expect(created.status).toBe(202);
    expect((await alice.waitJob(created.body.id, 30000)).status).toBe('completed');
    const lw = await AutoReranker.fromFinetuned(layerwiseDir, { devices: ['cpu'], intraOpNumThreads: 1 });
    const perLayer = (await (lw as any).computeScore(
      docs.map((d) => ['alpha', d]),
      { cutoffLayers: [1, 2] },
    )) as number[][];
    await lw.close();
    const res = await alice.get(`/v1/jobs/${created.body.id}/results`);
    const order = docs
      .map((_, i) => i)
      .sort((a, b) => perLayer[1][b] - perLayer[1][a] || a - b)
      .slice(0, 4);
    expect(res.body.results[0].top_k).toEqual(
      order.map((i) => ({ index: i, score: perLayer[1][i], scores: [perLayer[0][i], perLayer[1][i]], document: { text: docs[i] } })),
    );
  });

  it('gives the same job for the same Idempotency-Key and body, 409 for another body', async () => {
    const key = { 'idempotency-key': `idem-${Date.now()}` };
    const first = await alice.post('/v1/jobs', body, key);
    expect(first.status).toBe(202);
    const again = await alice.post('/v1/jobs', body, key);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const jobsNow = () => new JobInspector(cluster.redis.client).jobIds();
    const before = await jobsNow();
    const other = await alice.post('/v1/jobs', { ...body, top_k: 4 }, key);
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused', field: 'Idempotency-Key', job_id: first.body.id });
    // The refused request made no job.
    expect(await jobsNow()).toEqual(before);
    // Keys are per API key: bob's same key is another job.
    const bobs = await bob.post('/v1/jobs', body, key);
    expect(bobs.status).toBe(202);
    expect(bobs.body.id).not.toBe(first.body.id);
    await alice.waitJob(first.body.id, 30000);
    await bob.waitJob(bobs.body.id, 30000);
  });

  describe('cancel', () => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });

    it('stops a running job: shards not started never run, the job ends cancelled, the webhook says so', async () => {
      const docs = makeDocuments(2500, 11, 6, 14);
      const created = await alice.post('/v1/jobs', {
        model: 'tiny',
        query: 'alpha river',
        documents: docs,
        webhook: { url: receiver.url, secret: 'cancel-secret-1' },
      });
      expect(created.status).toBe(202);
      const id = created.body.id;
      const total = created.body.progress.shards_total;
      expect(total).toBe(50);
      // Let some shards finish first, so the cancel lands mid-job.
      await waitFor(
        'two shards done',
        async () => ((await alice.get(`/v1/jobs/${id}`)).body.progress.shards_done >= 2 ? true : undefined),
        20000,
        10,
      );
      const cancelled = await alice.del(`/v1/jobs/${id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      const doneAtCancel = cancelled.body.progress.shards_done;
      expect(doneAtCancel).toBeGreaterThanOrEqual(2);

      // The aggregation parent runs once the shard in flight (if any) is done; it drops the documents.
      const jobs = new JobInspector(cluster.redis.client);
      await waitFor('cancelled job settled', async () => (!(await jobs.hasDocuments(id)) ? true : undefined), 20000);
      expect(await jobs.ttl(id)).toBeGreaterThan(0);
      const view = (await alice.get(`/v1/jobs/${id}`)).body;
      expect(view.status).toBe('cancelled');
      // One worker: no shard starts after the cancel; those in hand stop at their next batch (started, not done).
      expect(view.progress.shards_done).toBeLessThanOrEqual(doneAtCancel + WORKER_CONCURRENCY);
      expect(view.progress.shards_done).toBeLessThan(total);
      const runs = Object.keys(await jobs.shardRuns(id)).length;
      expect(runs).toBeGreaterThanOrEqual(view.progress.shards_done);
      expect(runs).toBeLessThanOrEqual(doneAtCancel + WORKER_CONCURRENCY);
      expect(await cluster.redis.client.zcard('rerank:q:shards:prioritized')).toBe(0);

      const r = await alice.get(`/v1/jobs/${id}/results`);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('job_not_completed');
      expect((await alice.del(`/v1/jobs/${id}`)).status).toBe(409);

      await waitFor('cancel webhook', () => (receiver.deliveries.length > 0 ? true : undefined), 10000);
      expect(receiver.deliveries[0].json).toMatchObject({ event: 'job.cancelled', id, status: 'cancelled' });
    });
  });

  it('is not ready without workers', async () => {
    await cluster.stopWorkers();
    const r = await anon.get('/health/ready');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'unavailable', redis: 'ok', workers: { ready: 0 } });
  });
});
