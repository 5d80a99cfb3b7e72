/**
 * The clients people already use, unchanged, pointed at a running stack (API, aggregator, one CPU
 * worker on a generated model, a real Redis) by base URL only: the `cohere-ai` SDK (v1 and v2 rerank
 * with every field), LangChain's `CohereRerank`, and Jina-shaped requests. Every score is checked
 * against the engine in-process on the same model.
 */
import { dirname } from 'node:path';
import { CohereClient, CohereClientV2, CohereError } from 'cohere-ai';
import { CohereRerank } from '@langchain/cohere';
import { Document } from '@langchain/core/documents';
import { type FlagReranker, type Pair } from '@rerank/engine';
import { modelQueues } from '@rerank/jobs';
import { BULL_PREFIX } from '../../libs/jobs/src/store/keys';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Cluster } from '../support/cluster';
import { waitFor } from '../support/processes';
import { CAPITAL_DOCS, CAPITAL_QUERY, makeDocuments } from '../support/data';
import { engineChecks, ranking } from '../support/engine-checks';
import { testEncoderDir, removeTestModels, referenceEngine } from '../support/model';

jest.setTimeout(180000);

const KEY = 'client-key-0123';

let cluster: Cluster;
let base: string;
let engine: FlagReranker;

beforeAll(async () => {
  const dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: {
      RERANK_API_KEYS: `client:${KEY}`,
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_MAX_TOP_K: '100',
      RERANK_SYNC_TIMEOUT_MS: '150000',
    },
  });
  base = cluster.client.base;
  engine = await referenceEngine(dir);
});

afterAll(async () => {
  await engine?.close();
  await cluster?.stop();
  removeTestModels();
});

const api = () => cluster.client.withKey(KEY);
const query = CAPITAL_QUERY;
const docs = CAPITAL_DOCS;

const { expectedScores, tokensOf } = engineChecks(() => engine);

const count = async (t: string) => (await engine.tokenIds(t)).length;

/** The longest whole-word prefix of `text` with at most n tokens (found word by word: independent of the worker's search). */
async function wordPrefix(text: string, n: number): Promise<string> {
  const words = text.split(' ');
  let best = '';
  for (let k = 1; k <= words.length; k++) {
    const p = words.slice(0, k).join(' ');
    if ((await count(p)) > n) break;
    best = p;
  }
  return best;
}

describe('cohere-ai SDK, v1 rerank', () => {
  const client = () => new CohereClient({ token: KEY, environment: base });

  it('strings, topN, returnDocuments: the engine ranking and scores, Cohere meta', async () => {
    const expected = await expectedScores(query, docs);
    const r = await client().rerank({ model: 'tiny', query, documents: docs, topN: 3, returnDocuments: true });
    expect(r.results.map((x) => x.index)).toEqual(ranking(expected).slice(0, 3));
    for (const x of r.results) {
      expect(x.relevanceScore).toBe(expected[x.index]);
      expect(x.document).toEqual({ text: docs[x.index] });
    }
    expect(r.meta?.apiVersion?.version).toBe('1');
    expect(r.meta?.billedUnits?.searchUnits).toBe(1);
  });

  it('objects with any fields and rankFields: scored by the chosen fields as "field: value" lines, returned whole', async () => {
    const objects = docs.map((text, i) => ({ title: `Doc ${i}`, text, year: `${2000 + i}`, url: `https://example.com/${i}` }));
    const ranked = objects.map((o) => `title: ${o.title}\ntext: ${o.text}`);
    const expected = await expectedScores(query, ranked);
    const r = await client().rerank({ model: 'tiny', query, documents: objects, rankFields: ['title', 'text'], returnDocuments: true });
    expect(r.results.map((x) => x.index)).toEqual(ranking(expected));
    for (const x of r.results) {
      expect(x.relevanceScore).toBe(expected[x.index]);
      expect(x.document).toMatchObject({ text: objects[x.index].text });
    }
    // Without rankFields an object is scored by its text, its other fields ignored.
    const plain = await client().rerank({ model: 'tiny', query, documents: objects });
    const byText = await expectedScores(query, docs);
    for (const x of plain.results) expect(x.relevanceScore).toBe(byText[x.index]);
  });

  it('maxChunksPerDoc: a long document is scored by its best chunk; short ones as before', async () => {
    // 2,000 words: several chunks of at most (512 - query and template) tokens.
    const long = makeDocuments(1, 3, 2000, 2000)[0];
    const documents = [...docs, long];
    const frame = (await engine.inspectInputs([[query, '']]))[0].inputIds.length;
    const budget = 512 - frame;
    const chunks: string[] = [];
    let rest = long;
    while (chunks.length < 3 && rest) {
      const c = await wordPrefix(rest, budget);
      chunks.push(c);
      rest = rest.slice(c.length).trimStart();
    }
    expect(chunks.length).toBe(3);
    const chunkScores = await expectedScores(query, chunks);
    const expected = [...(await expectedScores(query, docs)), Math.max(...chunkScores)];
    const r = await client().rerank({ model: 'tiny', query, documents, maxChunksPerDoc: 3 });
    expect(r.results.map((x) => x.index)).toEqual(ranking(expected));
    for (const x of r.results) expect(x.relevanceScore).toBe(expected[x.index]);
    // One chunk: the first, as truncation would give.
    const one = await client().rerank({ model: 'tiny', query, documents: [long], maxChunksPerDoc: 1 });
    expect(one.results[0].relevanceScore).toBe(chunkScores[0]);
  });

  it('a 400 is Cohere-shaped (top-level message) and keeps our error object', async () => {
    const err = await client()
      .rerank({ model: 'tiny', query, documents: docs, topN: 0 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(CohereError);
    expect((err as CohereError).statusCode).toBe(400);
    const body = (err as CohereError).body as { message: string; error: { field: string; message: string } };
    expect(body.message).toBe(body.error.message);
    expect(body.error.field).toBe('top_n');
    expect(body.message).toMatch(/^top_n: expected an integer from 1 to 100/);
  });
});

describe('cohere-ai SDK, v2 rerank', () => {
  const client = () => new CohereClientV2({ token: KEY, environment: base });

  it('topN, maxTokensPerDoc (each document cut to that many tokens), priority', async () => {
    const long = makeDocuments(1, 9, 300, 300)[0];
    const documents = [...docs, long];
    // The generated tokenizer splits words into pieces: 20 tokens cut short documents too.
    const cuts = await Promise.all(documents.map((d) => wordPrefix(d, 20)));
    for (const c of cuts) expect(await count(c)).toBeLessThanOrEqual(20);
    expect(cuts[5].length).toBeLessThan(long.length);
    expect(cuts.filter((c, i) => c === documents[i]).length).toBeGreaterThan(0);
    const expected = await expectedScores(query, cuts);
    const r = await client().rerank({ model: 'tiny', query, documents, topN: 4, maxTokensPerDoc: 20, priority: 3 });
    expect(r.results.map((x) => x.index)).toEqual(ranking(expected).slice(0, 4));
    for (const x of r.results) expect(x.relevanceScore).toBe(expected[x.index]);
    expect(r.meta?.apiVersion?.version).toBe('2');
    expect(r.meta?.billedUnits?.searchUnits).toBe(1);
  });

  it('defaults max_tokens_per_doc to 4096 without changing any score of a document shorter than that', async () => {
    const expected = await expectedScores(query, docs);
    const r = await client().rerank({ model: 'tiny', query, documents: docs });
    expect(r.results.map((x) => x.index)).toEqual(ranking(expected));
    for (const x of r.results) expect(x.relevanceScore).toBe(expected[x.index]);
  });

  it('priority maps to the BullMQ priority of the sync job: 0 none, 1..9 as given, above 9 → 9 (still ahead of job shards at 10)', async () => {
    // Answered sync jobs leave Redis at once, so the queue is paused to read each one while it waits.
    const connection = new Redis(cluster.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(modelQueues('tiny').sync, { prefix: BULL_PREFIX, connection });
    try {
      for (const [priority, bull] of [
        [0, 0],
        [5, 5],
        [500, 9],
      ] as const) {
        await queue.pause();
        const answer = client().rerank({ model: 'tiny', query: `priority ${priority}`, documents: docs, priority });
        const waiting = await waitFor(`the sync job of priority ${priority}`, async () =>
          (await queue.getJobs(['waiting', 'prioritized', 'paused'])).find(
            (j) => (j.data as { query?: string }).query === `priority ${priority}`,
          ),
        );
        expect(waiting.opts.priority ?? 0).toBe(bull);
        await queue.resume();
        const r = await answer;
        expect(r.results).toHaveLength(docs.length);
      }
    } finally {
      await queue.resume();
      await queue.close();
      // A connection passed to BullMQ stays the caller's to close.
      connection.disconnect();
    }
  });
});

describe('LangChain CohereRerank (@langchain/cohere), its own cohere-ai client pointed at the stack', () => {
  function rerankerFor(fields: Record<string, unknown> = {}): CohereRerank {
    // LangChain takes a configured client: the one cohere-ai it depends on, with the stack's base URL.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path resolved at run time, from @langchain/cohere's own folder
    const own = require(
      require.resolve('cohere-ai', { paths: [dirname(require.resolve('@langchain/cohere'))] }),
    ) as typeof import('cohere-ai');
    return new CohereRerank({ client: new own.CohereClient({ token: KEY, environment: base }) as never, model: 'tiny', ...fields });
  }

  it('rerank: indices and scores as the engine (LangChain sends max_chunks_per_doc: null)', async () => {
    const expected = await expectedScores(query, docs);
    const r = await rerankerFor({ topN: 4 }).rerank(docs, query);
    expect(r.map((x) => x.index)).toEqual(ranking(expected).slice(0, 4));
    for (const x of r) expect(x.relevanceScore).toBe(expected[x.index]);
  });

  it('compressDocuments: the best documents with their relevance scores, best first', async () => {
    const expected = await expectedScores(query, docs);
    const input = docs.map((pageContent, i) => new Document({ pageContent, metadata: { i } }));
    const out = await rerankerFor({ topN: 2, maxChunksPerDoc: 4 }).compressDocuments(input, query);
    expect(out.map((d) => d.metadata.i)).toEqual(ranking(expected).slice(0, 2));
    for (const d of out) expect(d.metadata.relevanceScore).toBe(expected[d.metadata.i as number]);
  });
});

describe('Jina shape', () => {
  it('usage.total_tokens, {text} documents, top_n, return_documents', async () => {
    const expected = await expectedScores(query, docs);
    const r = await api().post('/v1/rerank', {
      model: 'tiny',
      query,
      documents: docs.map((text) => ({ text })),
      top_n: 2,
      return_documents: true,
    });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe('tiny');
    expect(r.body.usage.total_tokens).toBe(await tokensOf(query, docs));
    expect(r.body.results).toEqual(
      ranking(expected)
        .slice(0, 2)
        .map((i) => ({ index: i, relevance_score: expected[i], document: { text: docs[i] } })),
    );
  });
});

describe('null means absent', () => {
  const nulls = {
    top_n: null,
    return_documents: null,
    rank_fields: null,
    max_chunks_per_doc: null,
    max_tokens_per_doc: null,
    priority: null,
    normalize: null,
    max_length: null,
  };

  it.each(['/v1/rerank', '/v2/rerank'])('%s: every optional field null → the defaults', async (path) => {
    const expected = await expectedScores(query, docs);
    const r = await api().post(path, { model: 'tiny', query, documents: docs, ...nulls });
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual(ranking(expected).map((i) => ({ index: i, relevance_score: expected[i] })));
  });

  it('/v1/jobs: null top_k, return_documents, webhook, metadata, normalize → the defaults', async () => {
    const created = await api().post('/v1/jobs', {
      model: 'tiny',
      query,
      documents: docs,
      top_k: null,
      return_documents: null,
      webhook: null,
      metadata: null,
      normalize: null,
    });
    expect(created.status).toBe(202);
    const done = await api().waitJob(created.body.id, 60000);
    expect(done.status).toBe('completed');
    const res = await api().get(`/v1/jobs/${created.body.id}/results`);
    const raw = await engine.computeScore(docs.map((d) => [query, d] as Pair));
    expect(res.body.top_k).toBe(10);
    expect(res.body.results[0].top_k.map((x: { index: number; score: number }) => [x.index, x.score])).toEqual(
      ranking(raw).map((i) => [i, raw[i]]),
    );
  });
});

describe('Hugging Face TEI shape: POST /rerank {query, texts}, GET /info', () => {
  it('[{index, score, text?}] best first; sigmoid scores unless raw_scores', async () => {
    const expected = await expectedScores(query, docs);
    const r = await api().post('/rerank', {
      query,
      texts: docs,
      return_text: true,
      truncate: true,
      truncation_direction: 'Right',
      raw_scores: false,
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(ranking(expected).map((i) => ({ index: i, score: expected[i], text: docs[i] })));
    const raw = await engine.computeScore(docs.map((d) => [query, d] as Pair));
    const rawReply = await api().post('/rerank', { query, texts: docs, raw_scores: true });
    expect(rawReply.body).toEqual(ranking(raw).map((i) => ({ index: i, score: raw[i] })));
  });

  it('truncation_direction "Left": a long text keeps its end', async () => {
    const long = makeDocuments(1, 11, 1500, 1500)[0];
    const frame = (await engine.inspectInputs([[query, '']]))[0].inputIds.length;
    const budget = 512 - frame;
    const words = long.split(' ');
    let tail = '';
    for (let k = 1; k <= words.length; k++) {
      const t = words.slice(words.length - k).join(' ');
      if ((await count(t)) > budget) break;
      tail = t;
    }
    expect(tail.length).toBeLessThan(long.length);
    const [expected] = await expectedScores(query, [tail]);
    const [right] = await expectedScores(query, [long]);
    expect(expected).not.toBe(right);
    const r = await api().post('/rerank', { query, texts: [long], truncation_direction: 'Left' });
    expect(r.body).toEqual([{ index: 0, score: expected }]);
    const rightReply = await api().post('/rerank', { query, texts: [long] });
    expect(rightReply.body).toEqual([{ index: 0, score: right }]);
  });

  it("errors in TEI's shape and status codes", async () => {
    const empty = await api().post('/rerank', { query: '', texts: ['a'] });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ error: 'query: must not be empty; send the query text', error_type: 'empty' });
    const bad = await api().post('/rerank', { query, texts: ['a'], truncation_direction: 'Up' });
    expect(bad.status).toBe(413);
    expect(bad.body).toEqual({ error: 'truncation_direction: expected "Right" or "Left", got a string ("Up")', error_type: 'validation' });
  });

  it('GET /info', async () => {
    const r = await api().get('/info');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      model_id: 'tiny',
      max_input_length: 512,
      max_client_batch_size: 10000,
      model_type: { reranker: expect.any(Object) },
    });
  });
});

describe('vLLM / Infinity shapes: POST /rerank {documents}, /score and /v1/score', () => {
  it('/rerank with documents: Cohere-like results, usage.total_tokens; Infinity raw_scores, vLLM truncate_prompt_tokens', async () => {
    const expected = await expectedScores(query, docs);
    const r = await api().post('/rerank', { model: 'tiny', query, documents: docs, top_n: 3, return_documents: true });
    expect(r.status).toBe(200);
    expect(r.body.usage.total_tokens).toBe(await tokensOf(query, docs));
    expect(r.body.results).toEqual(
      ranking(expected)
        .slice(0, 3)
        .map((i) => ({ index: i, relevance_score: expected[i], document: { text: docs[i] } })),
    );
    const raw = await engine.computeScore(
      docs.map((d) => [query, d] as Pair),
      { maxLength: 20 },
    );
    const infinity = await api().post('/rerank', { model: 'tiny', query, documents: docs, raw_scores: true, truncate_prompt_tokens: 20 });
    expect(infinity.body.results).toEqual(ranking(raw).map((i) => ({ index: i, relevance_score: raw[i] })));
  });

  it.each(['/score', '/v1/score'])('%s: one-to-one, one-to-many and pairwise, in input order', async (path) => {
    const one = await api().post(path, { model: 'tiny', text_1: query, text_2: docs[0] });
    expect(one.status).toBe(200);
    const [s0] = await expectedScores(query, [docs[0]]);
    expect(one.body).toMatchObject({ object: 'list', model: 'tiny', data: [{ index: 0, object: 'score', score: s0 }] });
    expect(one.body.usage.total_tokens).toBe(await tokensOf(query, [docs[0]]));

    const many = await api().post(path, { model: 'tiny', text_1: query, text_2: docs });
    const expected = await expectedScores(query, docs);
    expect(many.body.data).toEqual(expected.map((score, index) => ({ index, object: 'score', score })));

    const queries = ['alpha', 'river ocean', 'alpha'];
    const pairwise = await api().post(path, { model: 'tiny', text_1: queries, text_2: docs.slice(0, 3) });
    const each = await Promise.all(queries.map(async (q, i) => (await expectedScores(q, [docs[i]]))[0]));
    expect(pairwise.body.data).toEqual(each.map((score, index) => ({ index, object: 'score', score })));

    const mismatch = await api().post(path, { model: 'tiny', text_1: queries, text_2: docs });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.message).toBe('text_2: 5 texts for 3 in text_1; pairwise scoring needs lists of one length');
  });
});

describe('10,000 documents in one synchronous call', () => {
  it('cohere-ai v2: cut into shard-sized parts (RERANK_SHARD_MAX_PAIRS 1000 → 10), ranked as the engine', async () => {
    const many = makeDocuments(10000, 21, 3, 10);
    const redis = cluster.redis.client;
    // Answered parts leave Redis at once: count them in the queue's event stream instead.
    const last = (await redis.xrevrange(`${BULL_PREFIX}:${modelQueues('tiny').sync}:events`, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
    const r = await new CohereClientV2({ token: KEY, environment: base, timeoutInSeconds: 300 }).rerank(
      { model: 'tiny', query: 'river library', documents: many, topN: 20 },
      { timeoutInSeconds: 300 },
    );
    const events = await redis.xrange(`${BULL_PREFIX}:${modelQueues('tiny').sync}:events`, `(${last}`, '+');
    const fields = events.map(([, f]) =>
      Object.fromEntries(f.reduce<[string, string][]>((acc, v, i) => (i % 2 ? acc : [...acc, [v, f[i + 1]]]), [])),
    );
    expect(fields.filter((f) => f.event === 'added' && f.name === 'sync')).toHaveLength(10);
    const expected = await expectedScores('river library', many);
    expect(r.results.map((x) => x.index)).toEqual(ranking(expected).slice(0, 20));
    for (const x of r.results) expect(x.relevanceScore).toBe(expected[x.index]);
    expect(r.meta?.billedUnits?.searchUnits).toBe(100);
  });

  it('beyond RERANK_SYNC_MAX_DOCUMENTS: 413 pointing to /v1/jobs', async () => {
    const r = await api().post('/v2/rerank', { model: 'tiny', query: 'q', documents: Array.from({ length: 10001 }, (_, i) => `d${i}`) });
    expect(r.status).toBe(413);
    expect(r.body.message).toMatch(
      /^documents: 10001 documents exceed the synchronous limit of 10000 \(RERANK_SYNC_MAX_DOCUMENTS\); submit them as an asynchronous job instead: POST \/v1\/jobs/,
    );
    expect(r.body.error).toMatchObject({ code: 'too_large_for_sync', field: 'documents', jobs_url: '/v1/jobs' });
  });
});
