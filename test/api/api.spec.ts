/**
 * The HTTP API against real processes (API, aggregator, one worker) on a real Redis: health, models,
 * OpenAPI, synchronous rerank (Cohere / Jina shapes), bad input (nothing stored), keys, idempotency, cancel.
 */
import { AutoReranker, type FlagReranker } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { ApiClient } from '../support/http';
import { testEncoderDir, testLayerwiseDir, removeTestModels } from '../support/model';
import { waitFor } from '../support/processes';
import { type Receiver, startReceiver } from '../support/webhook-receiver';

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
  engine = (await AutoReranker.fromFinetuned(dir, { devices: ['cpu'], intraOpNumThreads: 1 })) as FlagReranker;
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
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/rerank', '/v2/rerank', '/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/results', '/v1/models', '/health/ready']));
    expect(doc.body.paths['/v1/jobs'].post.requestBody.content['application/json'].schema.properties.top_k).toBeDefined();
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

interface BadCase {
  name: string;
  path?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  code?: string;
  field?: string;
  message: RegExp;
}

const job = (extra: Record<string, unknown>) => ({ model: 'tiny', query: 'q', documents: ['a', 'b'], ...extra });
const manyDocs = (n: number, chars = 10) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(chars, 'x'));

const BAD: BadCase[] = [
  { name: 'malformed JSON', raw: '{"query": "q", "documents": [', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'body not an object', body: ['q', 'a'], status: 400, message: /must be a JSON object/ },
  { name: 'wrong content type', raw: 'query=q', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', message: /Content-Type must be application\/json/ },
  { name: 'neither query nor queries', body: { model: 'tiny', documents: ['a'] }, status: 400, field: 'query', message: /missing; send "query" \+ "documents"/ },
  { name: 'query not a string', body: job({ query: 42 }), status: 400, field: 'query', message: /expected query as a string, got a number \(42\)/ },
  { name: 'blank query', body: job({ query: '   ' }), status: 400, field: 'query', message: /must not be empty/ },
  { name: 'documents missing', body: { model: 'tiny', query: 'q' }, status: 400, field: 'documents', message: /missing; send a list of documents/ },
  { name: 'documents not a list', body: job({ documents: 'a b c' }), status: 400, field: 'documents', message: /expected a list of documents/ },
  { name: 'documents empty', body: job({ documents: [] }), status: 400, field: 'documents', message: /the list is empty/ },
  { name: 'document of a wrong type', body: job({ documents: ['a', 7] }), status: 400, field: 'documents[1]', message: /expected a string or \{"id"\?/ },
  { name: 'document object without text', body: job({ documents: [{ id: 'd1' }] }), status: 400, field: 'documents[0].text', message: /missing/ },
  { name: 'document object with an unknown field', body: job({ documents: [{ text: 'a', title: 't' }] }), status: 400, field: 'documents[0].title', message: /unknown field/ },
  { name: 'document id of a wrong type', body: job({ documents: [{ id: true, text: 'a' }] }), status: 400, field: 'documents[0].id', message: /expected a string or an integer/ },
  { name: 'query and queries together', body: job({ queries: ['x'] }), status: 400, field: 'queries', message: /either "query".*or "queries"/ },
  { name: 'queries empty', body: { model: 'tiny', queries: [], documents: ['a'] }, status: 400, field: 'queries', message: /the list is empty/ },
  { name: 'per-query documents next to shared ones', body: { model: 'tiny', queries: [{ query: 'x', documents: ['a'] }], documents: ['b'] }, status: 400, field: 'queries[0].documents', message: /not allowed with top-level "documents"/ },
  { name: 'bare query string without shared documents', body: { model: 'tiny', queries: ['x'] }, status: 400, field: 'queries[0]', message: /needs top-level "documents"/ },
  { name: 'a query without its documents', body: { model: 'tiny', queries: [{ query: 'x', documents: ['a'] }, { query: 'y' }] }, status: 400, field: 'queries[1].documents', message: /missing; give each query its documents/ },
  { name: 'duplicate query ids', body: { model: 'tiny', queries: [{ id: 'a', query: 'x' }, { id: 'a', query: 'y' }], documents: ['d'] }, status: 400, field: 'queries[1].id', message: /duplicate query id "a"/ },
  { name: 'unknown model', body: job({ model: 'gpt-5' }), status: 400, field: 'model', message: /unknown model "gpt-5"; served models: "tiny", "layers"/ },
  { name: 'model missing with several served', body: { query: 'q', documents: ['a'] }, status: 400, field: 'model', message: /missing; name one of the served models/ },
  { name: 'cutoff layer the model lacks', body: job({ model: 'layers', cutoff_layers: [1, 9] }), status: 400, field: 'cutoff_layers', message: /layer 9 is not one model "layers" scores; it offers \[1,2\]/ },
  { name: 'model not a string', body: job({ model: 3 }), status: 400, field: 'model', message: /expected a model name/ },
  { name: 'top_k zero', body: job({ top_k: 0 }), status: 400, field: 'top_k', message: /from 1 to 50 \(the limit RERANK_MAX_TOP_K\)/ },
  { name: 'top_k above the limit', body: job({ top_k: 51 }), status: 400, field: 'top_k', message: /RERANK_MAX_TOP_K/ },
  { name: 'top_k not an integer', body: job({ top_k: 2.5 }), status: 400, field: 'top_k', message: /expected an integer/ },
  { name: 'webhook URL not a URL', body: job({ webhook: { url: 'not a url' } }), status: 400, field: 'webhook.url', message: /is not a valid URL/ },
  { name: 'webhook URL not http(s)', body: job({ webhook: { url: 'ftp://example.com/x' } }), status: 400, field: 'webhook.url', message: /scheme "ftp:" is not supported/ },
  { name: 'webhook secret too short', body: job({ webhook: { url: 'https://example.com/h', secret: 'abc' } }), status: 400, field: 'webhook.secret', message: /8 to 1024 characters/ },
  { name: 'webhook with an unknown field', body: job({ webhook: { url: 'https://example.com/h', sekret: 'x' } }), status: 400, field: 'webhook.sekret', message: /unknown field/ },
  { name: 'metadata not an object', body: job({ metadata: 'hello' }), status: 400, field: 'metadata', message: /expected an object/ },
  { name: 'unknown field', body: job({ colour: 'blue' }), status: 400, field: 'colour', message: /unknown field in a job; known fields: model, query/ },
  { name: 'camelCase option', body: job({ topK: 5 }), status: 400, field: 'topK', message: /did you mean "top_k"/ },
  { name: 'option of another family', body: job({ prompt: 'say yes' }), status: 400, field: 'prompt', message: /llm \/ layerwise \/ lightweight families only; model "tiny" is an encoder/ },
  { name: 'layer option on an encoder', body: job({ cutoff_layers: [1] }), status: 400, field: 'cutoff_layers', message: /families only/ },
  { name: 'normalize not a boolean', body: job({ normalize: 'yes' }), status: 400, field: 'normalize', message: /expected true or false/ },
  { name: 'max_length too small', body: job({ max_length: 4 }), status: 400, field: 'max_length', message: /from 16 to/ },
  { name: 'max_length beyond the model positions', body: job({ max_length: 4000 }), status: 400, field: 'max_length', message: /^max_length: 4000 makes sequences of up to 4000 tokens .*beyond model "tiny"'s 512 positions; send max_length 512 or less/ },
  { name: 'bad instruction format', body: job({ query_instruction_for_rerank: 'Q: ', query_instruction_format: '{x}{}' }), status: 400, field: 'query_instruction_format', message: /format field \{x\} is not supported/ },
  { name: 'return_documents not a boolean', body: job({ return_documents: 'yes' }), status: 400, field: 'return_documents', message: /expected true or false/ },
  { name: 'too many documents', body: job({ documents: manyDocs(3001, 1) }), status: 413, code: 'limit_exceeded', field: 'documents', message: /3001 documents exceeds the limit of 3000 .*RERANK_MAX_DOCUMENTS/ },
  { name: 'document too long', body: job({ documents: ['x'.repeat(2001)] }), status: 413, field: 'documents[0]', message: /2001 characters exceeds the limit of 2000 .*RERANK_MAX_DOCUMENT_CHARS/ },
  { name: 'too many queries', body: { model: 'tiny', queries: ['a', 'b', 'c', 'd', 'e', 'f'], documents: ['x'] }, status: 413, field: 'queries', message: /RERANK_MAX_QUERIES/ },
  { name: 'too many pairs', body: { model: 'tiny', queries: ['a', 'b', 'c', 'd', 'e'], documents: manyDocs(1001, 1) }, status: 413, field: 'queries', message: /5005 \(query, document\) pairs exceeds the limit of 5000 .*RERANK_MAX_PAIRS/ },
  { name: 'body too large', body: job({ documents: manyDocs(150, 1500) }), status: 413, code: 'limit_exceeded', message: /exceeds the limit of 200000 bytes \(RERANK_MAX_BODY_BYTES\)/ },
  { name: 'Idempotency-Key too long', body: job({}), headers: { 'idempotency-key': 'k'.repeat(300) }, status: 400, field: 'Idempotency-Key', message: /1 to 255 visible ASCII/ },
  { name: 'sync: top_n zero', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], top_n: 0 }, status: 400, field: 'top_n', message: /from 1 to 50/ },
  { name: 'sync: no document has the rank_fields', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: [{ text: 'a' }], rank_fields: ['title'] }, status: 400, field: 'documents[0]', message: /has none of the rank_fields \(title\)/ },
  { name: 'sync: rank_fields not a list of names', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: [{ text: 'a' }], rank_fields: 'title' }, status: 400, field: 'rank_fields', message: /non-empty list of field names/ },
  { name: 'sync v2: max_tokens_per_doc zero', path: '/v2/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], max_tokens_per_doc: 0 }, status: 400, field: 'max_tokens_per_doc', message: /expected an integer from 1/ },
  { name: 'sync: max_chunks_per_doc zero', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], max_chunks_per_doc: 0 }, status: 400, field: 'max_chunks_per_doc', message: /expected an integer from 1 to 100/ },
  { name: 'sync v2: negative priority', path: '/v2/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], priority: -1 }, status: 400, field: 'priority', message: /expected an integer from 0/ },
  { name: 'sync: document object without text', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: [{ id: 1, title: 'a' }] }, status: 400, field: 'documents[0].text', message: /missing; a document is a string or an object with "text"/ },
];

describe('bad input: 4xx naming the field and the fix, nothing stored or queued', () => {
  it(`has at least 25 distinct cases (${BAD.length})`, () => {
    expect(new Set(BAD.map((c) => c.name)).size).toBe(BAD.length);
    expect(BAD.length).toBeGreaterThanOrEqual(25);
  });

  it.each(BAD.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await cluster.footprint();
    const r = await alice.request('POST', c.path ?? '/v1/jobs', c.raw === undefined ? c.body : undefined, c.headers ?? {}, c.raw);
    expect(r.status).toBe(c.status);
    expect(r.body?.error).toBeDefined();
    if (c.code) expect(r.body.error.code).toBe(c.code);
    if (c.field !== undefined) expect(r.body.error.field).toBe(c.field);
    expect(r.body.error.message).toMatch(c.message);
    if (c.field) expect(r.body.error.message.startsWith(`${c.field}: `)).toBe(true);
    if (c.status === 413 && c.code === 'limit_exceeded') expect(r.body.error.limit?.env).toMatch(/^RERANK_/);
    expect(await cluster.footprint()).toEqual(before);
  });
});

describe('synchronous rerank (scored by the worker)', () => {
  const docs = ['Paris is the capital of France.', 'The river flows to the ocean.', 'France borders Spain.', 'Capital cities have many museums.'];
  const query = 'capital of France';

  it('answers Cohere v1 requests with the engine scores (0..1 as Cohere, sigmoid by default), best first', async () => {
    const expected = await engine.computeScore(docs.map((d) => [query, d] as [string, string]), { normalize: true });
    const r = await alice.post('/v1/rerank', { model: 'tiny', query, documents: docs, top_n: 3, return_documents: true });
    expect(r.status).toBe(200);
    expect(typeof r.body.id).toBe('string');
    expect(r.body.meta.api_version.version).toBe('1');
    expect(r.body.model).toBe('tiny');
    const order = docs.map((_, i) => i).sort((a, b) => expected[b] - expected[a] || a - b).slice(0, 3);
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
    const r = await alice.post('/v1/rerank', { model: 'tiny', query, documents: docs.map((text) => ({ text })), top_n: 2, return_documents: true });
    expect(r.status).toBe(200);
    const expected = await engine.computeScore(docs.map((d) => [query, d] as [string, string]), { normalize: true });
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
    expect(r.body.error).toMatchObject({ code: 'too_large_for_sync', field: 'documents', jobs_url: '/v1/jobs', limit: { value: 20, env: 'RERANK_SYNC_MAX_DOCUMENTS' } });
    expect(r.body.error.message).toMatch(/POST \/v1\/jobs/);
  });
});

describe('jobs: keys, idempotency, cancel', () => {
  const body = { model: 'tiny', queries: [{ id: 'q1', query: 'alpha' }, { id: 'q2', query: 'omega river' }], documents: makeDocuments(30, 5).map((text, i) => ({ id: `d${i}`, text })), top_k: 3, metadata: { run: 7 } };

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
    expect(done).toMatchObject({ status: 'completed', metadata: { run: 7 }, progress: { shards_done: 2, shards_total: 2, pairs_done: 60, pairs_total: 60 }, error: null });
    expect(done.timings.total_ms).toBeGreaterThan(0);
    const res = await alice.get(`/v1/jobs/${created.body.id}/results`);
    expect(res.status).toBe(200);
    expect(res.body.results.map((q: any) => q.query_id)).toEqual(['q1', 'q2']);
    for (const q of res.body.results) {
      expect(q.top_k).toHaveLength(3);
      expect(q.top_k[0]).toEqual({ index: expect.any(Number), id: `d${q.top_k[0].index}`, score: expect.any(Number), document: { text: body.documents[q.top_k[0].index].text } });
      const expected = await engine.computeScore(body.documents.map((d) => [q.query, d.text] as [string, string]));
      expect(q.top_k.map((x: any) => x.score)).toEqual(q.top_k.map((x: any) => expected[x.index]));
    }
    const all = await alice.get(`/v1/jobs/${created.body.id}/results?all=true`);
    expect(all.headers.get('content-type')).toMatch(/application\/json/);
    expect(all.body.results[1].scores).toHaveLength(30);

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

  it('returns every layer\'s score for several cutoff layers, ranking by the last', async () => {
    const docs = makeDocuments(12, 8);
    const created = await alice.post('/v1/jobs', { model: 'layers', query: 'alpha', documents: docs, cutoff_layers: [1, 2], top_k: 4 });
    expect(created.status).toBe(202);
    expect((await alice.waitJob(created.body.id, 30000)).status).toBe('completed');
    const lw = await AutoReranker.fromFinetuned(layerwiseDir, { devices: ['cpu'], intraOpNumThreads: 1 });
    const perLayer = (await (lw as any).computeScore(docs.map((d) => ['alpha', d]), { cutoffLayers: [1, 2] })) as number[][];
    await lw.close();
    const res = await alice.get(`/v1/jobs/${created.body.id}/results`);
    const order = docs.map((_, i) => i).sort((a, b) => perLayer[1][b] - perLayer[1][a] || a - b).slice(0, 4);
    expect(res.body.results[0].top_k).toEqual(order.map((i) => ({ index: i, score: perLayer[1][i], scores: [perLayer[0][i], perLayer[1][i]], document: { text: docs[i] } })));
  });

  it('gives the same job for the same Idempotency-Key and body, 409 for another body', async () => {
    const key = { 'idempotency-key': `idem-${Date.now()}` };
    const first = await alice.post('/v1/jobs', body, key);
    expect(first.status).toBe(202);
    const again = await alice.post('/v1/jobs', body, key);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const jobsNow = async () => (await cluster.redis.client.keys('rerank:job:*')).filter((k) => /^rerank:job:[^:]+$/.test(k)).sort();
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
      const created = await alice.post('/v1/jobs', { model: 'tiny', query: 'alpha river', documents: docs, webhook: { url: receiver.url, secret: 'cancel-secret-1' } });
      expect(created.status).toBe(202);
      const id = created.body.id;
      const total = created.body.progress.shards_total;
      expect(total).toBe(50);
      // Let some shards finish first, so the cancel lands mid-job.
      await waitFor('two shards done', async () => ((await alice.get(`/v1/jobs/${id}`)).body.progress.shards_done >= 2 ? true : undefined), 20000, 10);
      const cancelled = await alice.del(`/v1/jobs/${id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      const doneAtCancel = cancelled.body.progress.shards_done;
      expect(doneAtCancel).toBeGreaterThanOrEqual(2);

      // The aggregation parent runs once the shard in flight (if any) is done; it drops the documents.
      await waitFor('cancelled job settled', async () => ((await cluster.redis.client.exists(`rerank:job:${id}:docs`)) === 0 ? true : undefined), 20000);
      expect(await cluster.redis.client.ttl(`rerank:job:${id}`)).toBeGreaterThan(0);
      const view = (await alice.get(`/v1/jobs/${id}`)).body;
      expect(view.status).toBe('cancelled');
      // One worker: at most the shards it had started finish after the cancel.
      expect(view.progress.shards_done).toBeLessThanOrEqual(doneAtCancel + WORKER_CONCURRENCY);
      expect(view.progress.shards_done).toBeLessThan(total);
      const runs = await cluster.redis.client.hlen(`rerank:job:${id}:runs`);
      expect(runs).toBe(view.progress.shards_done);
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
