/**
 * ModernBERT-shaped and Qwen3-shaped models (generated) through the service: /v1/models shows their
 * family and limits (default max_length, positions, truncation); options of other kinds and a
 * max_length the prompt's frame fills are 400s naming the field; synchronous requests (max_tokens_per_doc,
 * max_chunks_per_doc included) and jobs give the in-process engine's scores.
 */
import { type AnyReranker, AutoReranker, type Pair } from '@rerank/engine';
import { makeTestModel } from '@rerank/model-gen';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cutToTokens, splitIntoChunks } from '../../apps/worker/src/document-budget';
import { Cluster } from '../support/cluster';
import { waitFor } from '../support/processes';

jest.setTimeout(240_000);

const root = mkdtempSync(join(tmpdir(), 'rerank-kinds-'));
let cluster: Cluster;
const engines: Record<string, AnyReranker> = {};
const query = 'what is machine learning';
const documents = [
  'machine learning is a subset of artificial intelligence',
  'cooking recipes for italian pasta dishes',
  Array.from({ length: 300 }, (_, i) => `word${i} data patterns`).join(' '),
];

beforeAll(async () => {
  const modernbert = await makeTestModel({ family: 'encoder', encoderStyle: 'modernbert', outDir: join(root, 'modernbert') });
  const qwen3 = await makeTestModel({ family: 'qwen3', outDir: join(root, 'qwen3') });
  for (const [name, dir] of [
    ['modernbert', modernbert.dir],
    ['qwen3', qwen3.dir],
  ])
    engines[name] = await AutoReranker.fromFinetuned(dir, { devices: 'cpu' });
  cluster = await Cluster.start({
    models: [
      { name: 'modernbert', path: modernbert.dir },
      { name: 'qwen3', path: qwen3.dir },
    ],
    env: { RERANK_THREADS: '1' },
  });
  await cluster.startWorkers('cpu');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await Promise.all(Object.values(engines).map((e) => e.close()));
  rmSync(root, { recursive: true, force: true });
});

const enginePairs = (name: string, pairs: Pair[], options: Record<string, unknown> = {}) =>
  engines[name].computeScore(pairs, options) as Promise<number[]>;
const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-5));

test('/v1/models: family, default max_length, positions, and the encoder truncation', async () => {
  const r = await cluster.client.get('/v1/models');
  const byId = Object.fromEntries((r.body.data as { id: string }[]).map((m) => [m.id, m]));
  expect(byId.modernbert).toMatchObject({ family: 'encoder', max_length: 8192, max_positions: 8192, truncation: 'longest_first' });
  expect(byId.qwen3).toMatchObject({ family: 'qwen3', max_length: 8192, max_positions: 40960 });
  expect(byId.qwen3).not.toHaveProperty('truncation');
});

test("an option the model's kind lacks, or a max_length the prompt fills, is a 400 naming the field", async () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      'modernbert',
      { instruction: 'find it' },
      'instruction',
      /applies to the qwen3 families only; model "modernbert" is an encoder reranker/,
    ],
    ['qwen3', { truncation: 'longest_first' }, 'truncation', /applies to the encoder families only; model "qwen3" is a qwen3 reranker/],
    [
      'qwen3',
      { query_instruction_for_rerank: 'A: ' },
      'query_instruction_for_rerank',
      /applies to the encoder \/ llm \/ layerwise \/ lightweight families only/,
    ],
    [
      'qwen3',
      { max_length: 20 },
      'max_length',
      /20 leaves no room for the query and document: model "qwen3"'s prompt prefix and suffix take \d+ tokens; send max_length \d+ or more/,
    ],
    ['modernbert', { truncation: 'middle' }, 'truncation', /expected one of "only_second", "longest_first"/],
    ['qwen3', { prompt_template: { prefix: '', format: '{query}', suffix: '' } }, 'prompt_template', /must hold \{document\} once/],
  ];
  for (const [model, extra, field, message] of cases) {
    for (const path of ['/v1/rerank', '/v1/jobs']) {
      const r = await cluster.client.post(path, { model, query, documents, ...extra });
      expect({ path, extra, status: r.status, field: r.body.error?.field }).toEqual({ path, extra, status: 400, field });
      expect(r.body.error.message).toMatch(message);
    }
  }
});

test.each(['modernbert', 'qwen3'])('%s: synchronous scores, max_tokens_per_doc and max_chunks_per_doc as the engine', async (name) => {
  const pairs = documents.map((d) => [query, d] as Pair);
  const sync = await cluster.client.post('/v1/rerank', {
    model: name,
    query,
    documents,
    instruction: name === 'qwen3' ? 'Find the definition' : undefined,
  });
  expect(sync.status).toBe(200);
  const got: number[] = [];
  for (const res of sync.body.results as { index: number; relevance_score: number }[]) got[res.index] = res.relevance_score;
  // The sync routes return 0..1: the sigmoid (qwen3: the probability of "yes", its default).
  close(got, await enginePairs(name, pairs, { normalize: true, ...(name === 'qwen3' ? { instruction: 'Find the definition' } : {}) }));
  const count = async (t: string) => (await engines[name].tokenIds(t)).length;

  const capped = await cluster.client.post('/v2/rerank', { model: name, query, documents, max_tokens_per_doc: 6 });
  expect(capped.status).toBe(200);
  const cut = await Promise.all(documents.map((d) => cutToTokens(d, 6, count)));
  const cappedScores: number[] = [];
  for (const res of capped.body.results as { index: number; relevance_score: number }[]) cappedScores[res.index] = res.relevance_score;
  close(
    cappedScores,
    await enginePairs(
      name,
      cut.map((d) => [query, d] as Pair),
      { normalize: true },
    ),
  );

  const chunked = await cluster.client.post('/v1/rerank', { model: name, query, documents, max_chunks_per_doc: 3, max_length: 200 });
  expect(chunked.status).toBe(200);
  const [frame] = await engines[name].inspectInputs([query, ''], { maxLength: 200 });
  const budget = 200 - frame.inputIds.length;
  const best: number[] = [];
  for (let i = 0; i < documents.length; i++) {
    const chunks = await splitIntoChunks(documents[i], budget, 3, count);
    expect(chunks.length).toBe(i === 2 ? 3 : 1);
    best[i] = Math.max(
      ...(await enginePairs(
        name,
        chunks.map((c) => [query, c] as Pair),
        { normalize: true, maxLength: 200 },
      )),
    );
  }
  const chunkScores: number[] = [];
  for (const res of chunked.body.results as { index: number; relevance_score: number }[]) chunkScores[res.index] = res.relevance_score;
  close(chunkScores, best);
});

test.each(['modernbert', 'qwen3'])("%s: a job's scores are the engine's (qwen3: probabilities by default)", async (name) => {
  const created = await cluster.client.post('/v1/jobs', { model: name, query, documents, top_k: 3 });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  await waitFor(
    `job ${id}`,
    async () => ((await cluster.client.get(`/v1/jobs/${id}`)).body.status === 'completed' ? true : undefined),
    60_000,
    200,
  );
  const results = await cluster.client.get(`/v1/jobs/${id}/results`);
  const got: number[] = [];
  for (const d of results.body.results[0].top_k as { index: number; score: number }[]) got[d.index] = d.score;
  const want = await enginePairs(
    name,
    documents.map((d) => [query, d] as Pair),
  );
  close(got, want);
  if (name === 'qwen3') for (const s of got) expect(s > 0 && s < 1).toBe(true);
});
