/**
 * Input limits of POST /v1/jobs against a real API process on a real redis-server (no workers: these
 * are checks at submission, and what a submission stores): 100,000-document jobs accepted and stored
 * whole, metadata depth and size, duplicate document ids, max_length against the model's positions,
 * and an internal error answered 500 (not a Redis outage).
 */
import { Cluster } from '../support/cluster';
import { testEncoderDir, testLayerwiseDir, removeTestModels } from '../support/model';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(180000);

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({
    models: [
      { name: 'tiny', path: await testEncoderDir() },
      { name: 'layers', path: await testLayerwiseDir() },
    ],
    // No workers: accepted jobs stay queued (the default, all, would refuse them with 503).
    env: { RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost', RERANK_REFUSE_UNSERVED: 'sync' },
  });
});

afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
});

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
/** Short texts of 1 to 3 words, distinct per index. */
const docText = (i: number) => `${WORDS[i % 8]} ${i}${i % 3 === 0 ? ` ${WORDS[(i >> 3) % 8]}` : ''}`;

/** A refused request stores nothing: no job key and no queued shard appears. */
async function expect400(body: unknown, field: string, message: RegExp): Promise<void> {
  const before = await cluster.footprint();
  // A string is sent as the raw body (JSON too deep for this process's JSON.stringify).
  const r =
    typeof body === 'string'
      ? await cluster.client.request('POST', '/v1/jobs', undefined, {}, body)
      : await cluster.client.post('/v1/jobs', body);
  expect([r.status, r.body.error?.field]).toEqual([400, field]);
  expect(r.body.error.message).toMatch(message);
  expect(r.body.error.message.startsWith(`${field}: `)).toBe(true);
  // Cancelled jobs of earlier tests may still be cleaned up meanwhile: nothing new is the check.
  const after = await cluster.footprint();
  expect(after.keys.filter((k) => !before.keys.includes(k))).toEqual([]);
  expect(after.counts.shards + after.counts.wait).toBeLessThanOrEqual(before.counts.shards + before.counts.wait);
}

/** A job body whose metadata is `inner` wrapped `depth` times in `open` ... `close`, as raw JSON. */
const deepBody = (depth: number, open: string, inner: string, close: string) =>
  `{"model":"tiny","query":"q","documents":["d"],"metadata":{"x":${open.repeat(depth)}${inner}${close.repeat(depth)}}}`;

describe('POST /v1/jobs input limits', () => {
  it('a 100,000-document job is accepted, its documents stored whole, and can be cancelled', async () => {
    const N = 100000;
    const documents = Array.from({ length: N }, (_, i) => docText(i));
    const created = await cluster.client.post('/v1/jobs', { model: 'tiny', query: 'alpha beta', documents, top_k: 5 });
    expect(created.status).toBe(202);
    expect(created.body.counts).toEqual({ queries: 1, documents: N, pairs: N });
    const id: string = created.body.id;
    const jobs = new JobInspector(cluster.redis.client);
    const samples = [0, 1, 999, 1000, 1001, 59999, 60000, 77777, N - 1];
    expect(await jobs.documents(id, samples)).toEqual(samples.map(docText));
    expect(await jobs.documents(id, [N])).toEqual([null]);
    // Every text of the job at once (in chunks), in the order asked, each where it belongs.
    const backwards = Array.from({ length: N }, (_, i) => N - 1 - i);
    const texts = await jobs.documents(id, backwards);
    expect(texts.length).toBe(N);
    let misplaced = 0;
    for (let k = 0; k < N; k++) if (texts[k] !== docText(backwards[k])) misplaced++;
    expect(misplaced).toBe(0);
    const view = await cluster.client.get(`/v1/jobs/${id}`);
    expect([view.status, view.body.status, view.body.progress.pairs_total]).toEqual([200, 'queued', N]);
    const cancelled = await cluster.client.request('DELETE', `/v1/jobs/${id}`);
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
  });

  it('metadata nested 5,000 levels is a 400 naming metadata (no 500), and nothing is stored', async () => {
    await expect400(
      deepBody(5000, '{"a":', '{"leaf":1}', '}'),
      'metadata',
      /^metadata: nested more than 32 levels deep \(the limit RERANK_MAX_METADATA_DEPTH\)/,
    );
    await expect400(deepBody(5000, '[', '[]', ']'), 'metadata', /nested more than 32 levels deep/);
    await expect400(deepBody(100000, '[', '1', ']'), 'metadata', /nested more than 32 levels deep/);
    // 32 levels pass; 33 do not.
    let ok: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 31; i++) ok = { a: ok };
    const accepted = await cluster.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['d'], metadata: ok });
    expect(accepted.status).toBe(202);
    await cluster.client.request('DELETE', `/v1/jobs/${accepted.body.id}`);
    await expect400(
      { model: 'tiny', query: 'q', documents: ['d'], metadata: { a: ok } },
      'metadata',
      /^metadata: nested more than 32 levels deep/,
    );
  });

  it('metadata over the size limit is a 400 naming metadata and the variable', async () => {
    await expect400(
      { model: 'tiny', query: 'q', documents: ['d'], metadata: { blob: 'x'.repeat(17000) } },
      'metadata',
      /^metadata: 17011 bytes as JSON; at most 16384 \(the limit RERANK_MAX_METADATA_BYTES\)$/,
    );
  });

  it('duplicate document ids are a 400 naming the second occurrence and the first index', async () => {
    await expect400(
      { model: 'tiny', query: 'q', documents: [{ id: 'a', text: 'x' }, { id: 'b', text: 'y' }, 'no id', { id: 'a', text: 'z' }] },
      'documents[3].id',
      /^documents\[3\]\.id: duplicate document id "a": documents\[0\] has the same id/,
    );
    await expect400(
      {
        model: 'tiny',
        queries: [
          { query: 'q1', documents: [{ id: 1, text: 'x' }] },
          {
            query: 'q2',
            documents: [
              { id: 7, text: 'x' },
              { id: 1, text: 'y' },
              { id: 7, text: 'z' },
            ],
          },
        ],
      },
      'queries[1].documents[2].id',
      /^queries\[1\]\.documents\[2\]\.id: duplicate document id 7: queries\[1\]\.documents\[0\] has the same id/,
    );
    // The same id in two queries' own lists is fine (ids are per list), as are "1" and 1.
    const ok = await cluster.client.post('/v1/jobs', {
      model: 'tiny',
      queries: [
        {
          query: 'q1',
          documents: [
            { id: 1, text: 'x' },
            { id: '1', text: 'y' },
          ],
        },
        { query: 'q2', documents: [{ id: 1, text: 'x' }] },
      ],
    });
    expect(ok.status).toBe(202);
    await cluster.client.request('DELETE', `/v1/jobs/${ok.body.id}`);
  });

  it('max_length beyond the model positions is a 400 at submission naming max_length and the limit', async () => {
    await expect400(
      { model: 'tiny', query: 'q', documents: ['d'], max_length: 4000 },
      'max_length',
      /^max_length: 4000 makes sequences of up to 4000 tokens .*beyond model "tiny"'s 512 positions; send max_length 512 or less$/,
    );
    await expect400({ model: 'tiny', query: 'q', documents: ['d'], max_length: 513 }, 'max_length', /send max_length 512 or less$/);
    // Layer-wise (generated: 1024 positions): 1000 + 2 × (separator 1 + prompt 35) = 1072.
    await expect400(
      { model: 'layers', query: 'q', documents: ['d'], max_length: 1000 },
      'max_length',
      /^max_length: 1000 makes sequences of up to 1072 tokens .*beyond model "layers"'s 1024 positions; send max_length 952 or less$/,
    );
    for (const body of [
      { model: 'tiny', query: 'q', documents: ['d'], max_length: 512 },
      // A query_max_length that fills max_length: the engine scores it as the reference (untruncated), so the API takes it.
      { model: 'tiny', query: 'q', documents: ['d'], max_length: 64, query_max_length: 60 },
      { model: 'layers', query: 'q', documents: ['d'], max_length: 952 },
      { model: 'layers', query: 'q', documents: ['d'] },
      { model: 'layers', query: 'q', documents: ['d'], max_length: 16, query_max_length: 16 },
    ]) {
      const r = await cluster.client.post('/v1/jobs', body);
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 202]);
      await cluster.client.request('DELETE', `/v1/jobs/${r.body.id}`);
    }
  });

  it("Redis refusing a write (OOM under maxmemory, past the memory ceiling's check) is a 503 with Retry-After and Redis's reason", async () => {
    const redis = cluster.redis.client;
    // An accepted job first: the API's memory reading (reused for a second) is then one from before
    // the limit, so the request passes the ceiling's check and meets the refused write itself.
    const warm = await cluster.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['d'] });
    expect(warm.status).toBe(202);
    await cluster.client.request('DELETE', `/v1/jobs/${warm.body.id}`);
    // Redis answers every write with an OOM error: not the request's fault, so "retry later", never a 500.
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      const r = await cluster.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['d'] });
      expect([r.status, r.body.error?.code, r.headers.get('retry-after')]).toEqual([503, 'queue_unavailable', '2']);
      expect(r.body.error.message).toMatch(
        /^the job store \(Redis\) cannot take work now \(OOM command not allowed when used memory > 'maxmemory'\.\); nothing was stored, retry later$/,
      );
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    const ok = await cluster.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['d'] });
    expect(ok.status).toBe(202);
    await cluster.client.request('DELETE', `/v1/jobs/${ok.body.id}`);
  });
});
