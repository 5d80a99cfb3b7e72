/**
 * The contract edges clients hit (issue 21, items 5-7), against the running stack (API, aggregator,
 * one CPU worker on a generated model, a real Redis): an absent top_n is every document on every
 * synchronous route, whatever RERANK_MAX_TOP_K; document objects are own-property maps (an
 * inherited name is never a field, a field named "__proto__" returns as sent); TEI's, Infinity's and
 * Cohere v2's clients' requests work as those servers answer them. Scores are checked against the
 * engine in-process on the same model. The Python clients themselves (Infinity's, LangChain's, LiteLLM's,
 * rerankers', Cohere's SDK) run against it from .venv-clients (scripts/setup-python.sh --clients).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { FlagReranker } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { CAPITAL_DOCS, CAPITAL_QUERY } from '../support/data';
import { engineChecks, ranking } from '../support/engine-checks';
import { removeTestModels, referenceEngine, testEncoderDir } from '../support/model';

jest.setTimeout(180000);

const KEY = 'edges-key-0123';
/** Small limits, so "every document" and "RERANK_MAX_TOP_K" differ. */
const MAX_TOP_K = 3;
const SYNC_MAX = 8;

let cluster: Cluster;
let engine: FlagReranker;

beforeAll(async () => {
  const dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: { RERANK_API_KEYS: `edges:${KEY}`, RERANK_MAX_TOP_K: String(MAX_TOP_K), RERANK_SYNC_MAX_DOCUMENTS: String(SYNC_MAX) },
  });
  engine = await referenceEngine(dir);
});

afterAll(async () => {
  await engine?.close();
  await cluster?.stop();
  removeTestModels();
});

const api = () => cluster.client.withKey(KEY);
const query = CAPITAL_QUERY;
/** As many documents as a synchronous request may carry: more than RERANK_MAX_TOP_K. */
const docs = [...CAPITAL_DOCS, 'Lyon is a city in France.', 'The ocean is deep and blue.', 'Museums of Paris hold paintings.'];

const { expectedScores, tokensOf } = engineChecks(() => engine);

const SPANS_NOT_OFFERED =
  'relevant spans are not offered: the served models score each document as a whole; leave relevant_spans out or send "disabled" (max_chunks_per_doc scores a long document by its best chunk)';

describe('item 5: an absent top_n is every document, on every synchronous route', () => {
  it('Cohere v1 / v2, vLLM and Infinity: all 8 documents ranked, not RERANK_MAX_TOP_K (3)', async () => {
    expect(docs.length).toBe(SYNC_MAX);
    const expected = await expectedScores(query, docs);
    for (const path of ['/v1/rerank', '/v2/rerank', '/rerank', '/infinity/rerank']) {
      const r = await api().post(path, { model: 'tiny', query, documents: docs });
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      expect(r.body.results.map((x: { index: number; relevance_score: number }) => [x.index, x.relevance_score])).toEqual(
        ranking(expected).map((i) => [i, expected[i]]),
      );
    }
  });

  it("TEI: every text when top_n is absent, the first top_n when sent (TEI's own field set ignores the rest)", async () => {
    const expected = await expectedScores(query, docs);
    const all = await api().post('/rerank', { query, texts: docs });
    expect(all.body).toEqual(ranking(expected).map((i) => ({ index: i, score: expected[i] })));
    const two = await api().post('/rerank', { query, texts: docs, top_n: 2 });
    expect(two.status).toBe(200);
    expect(two.body).toEqual(
      ranking(expected)
        .slice(0, 2)
        .map((i) => ({ index: i, score: expected[i] })),
    );
  });

  it('an explicit top_n above RERANK_MAX_TOP_K is a 400 naming it, on every route', async () => {
    const message = `top_n: expected an integer from 1 to ${MAX_TOP_K} (the limit RERANK_MAX_TOP_K), got a number (4)`;
    for (const path of ['/v1/rerank', '/v2/rerank', '/rerank', '/infinity/rerank']) {
      const r = await api().post(path, { model: 'tiny', query, documents: docs, top_n: 4 });
      expect({ path, status: r.status, error: r.body.error }).toEqual({
        path,
        status: 400,
        error: { code: 'invalid_request', field: 'top_n', message },
      });
    }
    const tei = await api().post('/rerank', { query, texts: docs, top_n: 4 });
    expect(tei.status).toBe(413);
    expect(tei.body).toEqual({ error: message, error_type: 'validation' });
  });
});

describe('item 6: document fields are data', () => {
  const objects = [
    { text: 'Paris is the capital of France.', title: 'Paris' },
    { text: 'alpha beta gamma', title: 'Greek' },
  ];

  it.each(['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'])(
    'rank_fields ["%s"] naming no field of the documents is the 400 naming it',
    async (name) => {
      const r = await api().post('/v1/rerank', { model: 'tiny', query, documents: objects, rank_fields: [name] });
      expect(r.status).toBe(400);
      expect(r.body.error).toEqual({
        code: 'invalid_request',
        field: 'documents[0]',
        message: `documents[0]: has none of the rank_fields (${name}); give every document at least one of them`,
      });
    },
  );

  it('an inherited name beside a real field is no field: the document is scored by the real one alone', async () => {
    const expected = await expectedScores(
      query,
      objects.map((o) => `title: ${o.title}`),
    );
    const r = await api().post('/v1/rerank', { model: 'tiny', query, documents: objects, rank_fields: ['constructor', 'title'] });
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { index: number; relevance_score: number }) => [x.index, x.relevance_score])).toEqual(
      ranking(expected).map((i) => [i, expected[i]]),
    );
  });

  it('a field named "__proto__" (or "constructor") returns as sent, and ranks when named', async () => {
    // JSON text, so "__proto__" is a key of the document as every JSON client sends it.
    const raw =
      '{"model":"tiny","query":"capital of France","return_documents":true,"rank_fields":["__proto__","text"],"documents":[' +
      '{"text":"Paris is the capital of France.","__proto__":{"lang":"en"},"constructor":"c1"},' +
      '{"text":"alpha beta gamma","__proto__":"greek"}]}';
    const r = await api().request('POST', '/v1/rerank', undefined, {}, raw);
    expect(r.status).toBe(200);
    // The answer's own text, parsed as JSON (which keeps "__proto__" a key).
    const sent = JSON.parse(raw) as { documents: Record<string, unknown>[] };
    const answer = JSON.parse(r.text) as { results: { index: number; relevance_score: number; document: Record<string, unknown> }[] };
    const expected = await expectedScores(query, [
      '__proto__: {"lang":"en"}\ntext: Paris is the capital of France.',
      '__proto__: greek\ntext: alpha beta gamma',
    ]);
    expect(answer.results.map((x) => [x.index, x.relevance_score])).toEqual(ranking(expected).map((i) => [i, expected[i]]));
    for (const x of answer.results) {
      expect(Object.keys(x.document)).toEqual(Object.keys(sent.documents[x.index]));
      expect(x.document).toEqual(sent.documents[x.index]);
    }
    expect(Object.keys(answer.results.find((x) => x.index === 0)!.document)).toEqual(['text', '__proto__', 'constructor']);
  });
});

describe('item 7: clients of TEI, Infinity and Cohere v2 unchanged', () => {
  it("TEI: Cohere's fields that LiteLLM's huggingface/ provider and `rerankers` send are ignored, top_n honoured", async () => {
    const expected = await expectedScores(query, docs);
    // LiteLLM's huggingface/ rerank body: TEI's plus top_n, return_documents, documents' Cohere names.
    const r = await api().post('/rerank', {
      model: 'tiny',
      query,
      texts: docs,
      top_n: 3,
      return_text: true,
      return_documents: true,
      max_chunks_per_doc: 1,
      some_future_field: { a: 1 },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(
      ranking(expected)
        .slice(0, 3)
        .map((i) => ({ index: i, score: expected[i], text: docs[i] })),
    );
  });

  it('usage.prompt_tokens beside total_tokens wherever usage is (Cohere v1 / v2, vLLM, Infinity)', async () => {
    const tokens = await tokensOf(query, docs.slice(0, 3));
    for (const path of ['/v1/rerank', '/v2/rerank', '/rerank']) {
      const r = await api().post(path, { model: 'tiny', query, documents: docs.slice(0, 3) });
      expect(r.body.usage).toEqual({ documents: 3, search_units: 1, total_tokens: tokens, prompt_tokens: tokens });
    }
    const inf = await api().post('/infinity/rerank', { model: 'tiny', query, documents: docs.slice(0, 3) });
    expect(inf.body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it("Infinity's clients by base URL <api>/infinity: infinity_client's RerankInput body, document a plain string", async () => {
    const expected = await expectedScores(query, docs.slice(0, 4));
    // The body infinity_client (and LangChain's InfinityRerank over it) sends; LiteLLM's infinity/ sends the same fields.
    const r = await api().post('/infinity/rerank', {
      query,
      documents: docs.slice(0, 4),
      return_documents: true,
      raw_scores: false,
      model: 'tiny',
      top_n: 2,
    });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['created', 'id', 'model', 'object', 'results', 'usage']);
    expect(r.body).toMatchObject({ object: 'rerank', model: 'tiny' });
    expect(r.body.id).toMatch(/^infinity-/);
    expect(Math.abs(r.body.created - Date.now() / 1000)).toBeLessThan(60);
    expect(r.body.results).toEqual(
      ranking(expected)
        .slice(0, 2)
        .map((i) => ({ index: i, relevance_score: expected[i], document: docs[i] })),
    );
    const raw = await expectedScores(query, docs.slice(0, 4), false);
    const rawReply = await api().post('/infinity/rerank', { query, documents: docs.slice(0, 4), raw_scores: true, model: 'tiny' });
    expect(rawReply.body.results).toEqual(ranking(raw).map((i) => ({ index: i, relevance_score: raw[i] })));
  });

  it("vLLM's POST /rerank keeps its shape: document as {text}", async () => {
    const expected = await expectedScores(query, docs.slice(0, 2));
    const r = await api().post('/rerank', { model: 'tiny', query, documents: docs.slice(0, 2), return_documents: true });
    expect(r.body.results).toEqual(ranking(expected).map((i) => ({ index: i, relevance_score: expected[i], document: { text: docs[i] } })));
  });

  it('Cohere v2 relevant_spans: "disabled" accepted in each form; asking for spans is a clear 400', async () => {
    const expected = await expectedScores(query, docs.slice(0, 2));
    for (const spans of ['disabled', { mode: 'disabled' }, { mode: 'disabled', max_spans: 3 }, { type: 'disabled' }, false, null]) {
      const r = await api().post('/v2/rerank', { model: 'tiny', query, documents: docs.slice(0, 2), relevant_spans: spans });
      expect({ spans, status: r.status }).toEqual({ spans, status: 200 });
      expect(r.body.results.map((x: { index: number; relevance_score: number }) => [x.index, x.relevance_score])).toEqual(
        ranking(expected).map((i) => [i, expected[i]]),
      );
    }
    for (const spans of ['enabled', { mode: 'enabled', threshold: 0.1, max_spans: 3 }, { type: 'enabled', max_spans: 3 }, true]) {
      const r = await api().post('/v2/rerank', { model: 'tiny', query, documents: docs.slice(0, 2), relevant_spans: spans });
      expect(r.status).toBe(400);
      expect(r.body.error).toEqual({
        code: 'invalid_request',
        field: 'relevant_spans',
        message: `relevant_spans: ${SPANS_NOT_OFFERED}`,
      });
    }
    const bad = await api().post('/v2/rerank', { model: 'tiny', query, documents: docs.slice(0, 2), relevant_spans: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('relevant_spans');
    expect(bad.body.error.message).toMatch(/^relevant_spans: expected "disabled" \(or false, or \{"mode": "disabled"\}\)/);
  });
});

describe('item 7: the Python clients themselves, unchanged, against the running stack', () => {
  const ROOT = join(__dirname, '..', '..');
  const PYTHON = join(process.env.RERANK_CLIENTS_VENV ?? join(ROOT, '.venv-clients'), 'bin', 'python');

  type Answer = { results?: [number, number][]; documents?: unknown[]; error?: string; [k: string]: unknown };

  /** python/clients/run_clients.py: every client asked the same question, each one's answer or exact failure. */
  function runClients(documents: string[], topN: number, manyDocuments: string[]): Promise<Record<string, Answer>> {
    const args = ['--base', cluster.client.base, '--key', KEY, '--model', 'tiny', '--query', query];
    args.push('--documents', JSON.stringify(documents), '--top-n', String(topN), '--many-documents', JSON.stringify(manyDocuments));
    return new Promise((resolve, reject) => {
      const child = spawn(PYTHON, [join(ROOT, 'python', 'clients', 'run_clients.py'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => reject(new Error(`${PYTHON}: ${e.message}; run scripts/setup-python.sh --clients`)));
      child.on('close', (code) =>
        code === 0 ? resolve(JSON.parse(out) as Record<string, Answer>) : reject(new Error(`run_clients.py exited ${code}: ${err}`)),
      );
    });
  }

  it('infinity_client, LangChain InfinityRerank, LiteLLM infinity/ and huggingface/, rerankers (TEI), cohere ClientV2', async () => {
    // Three: rerankers' TEI ranker asks for top_n = every text, and this stack's RERANK_MAX_TOP_K is 3.
    const documents = docs.slice(0, 3);
    const topN = 2;
    const expected = await expectedScores(query, documents);
    const best = ranking(expected);
    const top = best.slice(0, topN);
    const pairs = (indices: number[]) => indices.map((i) => [i, expected[i]]);
    const tokens = await tokensOf(query, documents);
    const answers = await runClients(documents, topN, docs);
    const message = `relevant_spans: ${SPANS_NOT_OFFERED}`;
    const spansRefused = { message, error: { code: 'invalid_request', field: 'relevant_spans', message } };
    const traces = Object.fromEntries(
      Object.entries(answers)
        .filter(([, a]) => a.error)
        .map(([n, a]) => [n, a.trace]),
    );
    const shown = Object.fromEntries(Object.entries(answers).map(([n, { trace: _trace, ...a }]) => [n, a]));
    expect({ shown, traces }).toEqual({
      traces: { 'rerankers text-embeddings-inference, many documents': expect.stringContaining('in _parse_response') },
      shown: {
        infinity_client: {
          results: pairs(top),
          documents: top.map((i) => documents[i]),
          prompt_tokens: tokens,
          total_tokens: tokens,
        },
        // LangChain asks for every document and keeps the compressor's top_n.
        'langchain InfinityRerank': { results: pairs(top), documents: top.map((i) => documents[i]) },
        'litellm infinity/': { results: pairs(top), documents: top.map((i) => documents[i]) },
        // Posts TEI's POST /rerank (texts, top_n, return_text) at the base URL.
        'litellm huggingface/': { results: pairs(top), documents: top.map((i) => documents[i]) },
        // rerankers' TEI ranker asks for every text (top_n = their number).
        'rerankers text-embeddings-inference': { results: pairs(best), documents: best.map((i) => documents[i]) },
        // With more texts than RERANK_MAX_TOP_K it still sends top_n = their number: the route's 413
        // (item 5's limit, tested above) is read by rerankers as a list of results, without a look at the status.
        'rerankers text-embeddings-inference, many documents': { error: "TypeError: string indices must be integers, not 'str'" },
        'cohere ClientV2': { results: pairs(top) },
        'cohere ClientV2 relevant_spans disabled': { results: pairs(top) },
        // Spans are not offered (item 7): the SDK raises the API's 400 as its BadRequestError.
        'cohere ClientV2 relevant_spans enabled': { error: 'BadRequestError', status: 400, body: spansRefused },
      },
    });
  });
});
