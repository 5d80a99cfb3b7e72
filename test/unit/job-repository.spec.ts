/** The job repository against a real redis-server: layout, status transitions (Lua), shard starts, results, webhooks, idempotency. */
import { JobRepository, jobKeys, keys, type NormalizedJob, scriptSources, SCRIPTS } from '@rerank/jobs';
import { startRedis, type TestRedis } from '../support/redis-server';

let redis: TestRedis;
let jobs: JobRepository;
beforeAll(async () => {
  redis = await startRedis();
  jobs = new JobRepository(redis.client, { secretKey: 'unit-test-secret-key-0123456789-abcdef' });
});
afterAll(async () => {
  await redis?.stop();
});

/** Two queries over two sets: q0 against docs 0..2, q1 against docs 3..4. */
function twoSetJob(over: Partial<NormalizedJob> = {}): NormalizedJob {
  return {
    model: 'enc',
    family: 'encoder',
    queries: [
      { id: 'qa', text: 'alpha', set: 0 },
      { id: null, text: 'beta', set: 1 },
    ],
    sets: [
      { offset: 0, count: 3 },
      { offset: 3, count: 2 },
    ],
    documents: ['a0', 'a1', 'a2', 'b0', 'b1'],
    documentIds: ['d0', 'd1', null, 'd3', 'd4'],
    pairs: 5,
    topK: 2,
    returnDocuments: true,
    options: { normalize: true },
    webhook: { url: 'https://hooks.example.com/x', secret: 'hook-secret' },
    metadata: { batch: 7 },
    priority: 0,
    ...over,
  };
}

async function created(id: string, over: Partial<NormalizedJob> = {}): Promise<void> {
  await jobs.create({
    id,
    owner: 'alice',
    createdAt: 1000,
    job: twoSetJob(over),
    shardsTotal: 3,
    baseUrl: 'http://api',
    requestHash: 'h1',
    requestId: `req-${id}`,
  });
}

it('every Lua script is read from its file', () => {
  const sources = scriptSources();
  expect(Object.keys(sources).sort()).toEqual(
    Object.values(SCRIPTS)
      .map((s) => s.file)
      .sort(),
  );
  for (const lua of Object.values(sources)) expect(lua).toMatch(/redis\.call/);
});

it('stores a job whole (expiring until activated) and reads it back typed', async () => {
  await created('job_r1');
  expect(await redis.client.ttl(keys.job('job_r1'))).toBeGreaterThan(3000);
  await jobs.activate('job_r1');
  expect(await jobs.ttl('job_r1')).toBe(-1);
  const r = await jobs.get('job_r1');
  expect(r).toMatchObject({
    id: 'job_r1',
    owner: 'alice',
    status: 'queued',
    model: 'enc',
    createdAt: 1000,
    startedAt: null,
    finishedAt: null,
    counts: { queries: 2, documents: 5, pairs: 5 },
    shardsTotal: 3,
    topK: 2,
    returnDocuments: true,
    options: { normalize: true },
    metadata: { batch: 7 },
    webhookSecret: 'hook-secret',
    error: null,
    baseUrl: 'http://api',
    requestHash: 'h1',
  });
  expect(r!.webhook).toEqual({
    url: 'https://hooks.example.com/x',
    state: 'pending',
    event: null,
    attempts: 0,
    lastStatus: null,
    lastError: null,
    lastAttemptAt: null,
    deliveredAt: null,
  });
  // The secret is sealed at rest under RERANK_SECRET_KEY.
  expect(await jobs.storedWebhookSecret('job_r1')).toMatch(/^enc:v1:/);
  expect(await new JobRepository(redis.client).get('job_r1')).toMatchObject({
    webhookSecret: null,
    webhookSecretError: expect.stringMatching(/RERANK_SECRET_KEY is not set/),
  });
  expect(await jobs.shardContext('job_r1')).toEqual({
    layout: { queries: twoSetJob().queries, sets: twoSetJob().sets },
    options: { normalize: true },
    topK: 2,
    returnDocuments: true,
    requestId: 'req-job_r1',
    // The worker's schedule on the device: the owner is the tenant, the priority the job's weight.
    owner: 'alice',
    priority: 0,
  });
  expect((await jobs.get('job_r1'))?.requestId).toBe('req-job_r1');
  expect(await jobs.documents('job_r1', [4, 0, 9])).toEqual(['b1', 'a0', null]);
  expect(await jobs.documentIds('job_r1')).toEqual(['d0', 'd1', null, 'd3', 'd4']);
  expect(await jobs.get('job_missing')).toBeNull();
  expect(await jobs.shardContext('job_missing')).toBeNull();
  expect(await jobs.jobIds()).toContain('job_r1');
});

it('starts a shard in one call: texts in the order asked, queued -> running, runs counted; refuses ended or emptied jobs', async () => {
  await created('job_r2');
  expect(await jobs.startShard('job_r2', 1, [4, 3], 5000)).toEqual({ state: 'ok', texts: ['b1', 'b0'] });
  expect(await jobs.get('job_r2')).toMatchObject({ status: 'running', startedAt: 5000 });
  // A second start (a re-run after a worker died) keeps started_at and counts again.
  expect(await jobs.startShard('job_r2', 1, [3], 6000)).toEqual({ state: 'ok', texts: ['b0'] });
  expect(await jobs.startShard('job_r2', 0, [0], 6000)).toEqual({ state: 'ok', texts: ['a0'] });
  expect((await jobs.get('job_r2'))!.startedAt).toBe(5000);
  expect(await jobs.shardRuns('job_r2')).toEqual({ '0': 1, '1': 2 });
  // A document that is not there: nothing marked, nothing counted.
  expect(await jobs.startShard('job_r2', 2, [1, 99])).toEqual({ state: 'missing' });
  expect(await jobs.shardRuns('job_r2')).toEqual({ '0': 1, '1': 2 });
  expect(await jobs.finish('job_r2', 'cancelled')).toBe(true);
  expect(await jobs.startShard('job_r2', 2, [1])).toEqual({ state: 'cancelled' });
  expect(await jobs.startShard('job_gone', 0, [0])).toEqual({ state: 'gone' });
});

it('reads thousands of texts in one start (HMGET in chunks inside the script)', async () => {
  const n = 2500;
  const documents = Array.from({ length: n }, (_, i) => `text ${i}`);
  await created('job_r3', { documents, documentIds: null, sets: [{ offset: 0, count: n }], queries: [{ id: null, text: 'q', set: 0 }] });
  const indices = Array.from({ length: n }, (_, i) => n - 1 - i);
  const start = await jobs.startShard('job_r3', 0, indices);
  expect(start.state).toBe('ok');
  expect(start.state === 'ok' && start.texts).toEqual(indices.map((i) => `text ${i}`));
  expect(await jobs.documents('job_r3', indices)).toEqual(indices.map((i) => `text ${i}`));
});

it('finishes a job once; progress per shard; results stored with the expiry and the texts dropped', async () => {
  await created('job_r4');
  await jobs.activate('job_r4');
  await jobs.recordShard('job_r4', 0, 3);
  await jobs.recordShard('job_r4', 1, 2);
  await jobs.recordShard('job_r4', 1, 2);
  expect(await jobs.progress('job_r4')).toEqual({ shardsDone: 2, pairsDone: 5 });
  // Status polls read the job and its progress together.
  const polled = await jobs.getWithProgress('job_r4');
  expect(polled?.progress).toEqual({ shardsDone: 2, pairsDone: 5 });
  expect(polled?.record).toEqual(await jobs.get('job_r4'));
  expect(await jobs.getWithProgress('job_missing')).toBeNull();
  await jobs.storeResults(
    'job_r4',
    [{ query_index: 0 }],
    [
      [1, 2, 3],
      [
        [4, 5],
        [6, 7],
      ],
    ],
    120,
  );
  expect(await jobs.hasDocuments('job_r4')).toBe(false);
  for (const k of [keys.job('job_r4'), keys.layout('job_r4'), keys.progress('job_r4'), keys.result('job_r4'), keys.scores('job_r4')])
    expect([k, (await redis.client.ttl(k)) > 0]).toEqual([k, true]);
  expect(await jobs.result('job_r4')).toEqual([{ query_index: 0 }]);
  expect(await jobs.queryScores('job_r4', 1)).toEqual([
    [4, 5],
    [6, 7],
  ]);
  expect(await jobs.finish('job_r4', 'completed', undefined, 9000)).toBe(true);
  expect(await jobs.finish('job_r4', 'failed', { code: 'internal', message: 'late' })).toBe(false);
  expect(await jobs.get('job_r4')).toMatchObject({ status: 'completed', finishedAt: 9000, error: null });
  expect(await jobs.finish('job_nope', 'failed')).toBeNull();
  await created('job_r5');
  expect(await jobs.finish('job_r5', 'failed', { code: 'shard_failed', message: 'shard 2 failed' })).toBe(true);
  expect((await jobs.get('job_r5'))!.error).toEqual({ code: 'shard_failed', message: 'shard 2 failed' });
});

it('records webhook attempts and outcomes on the job, never on a job that is gone', async () => {
  await created('job_r6');
  await jobs.recordWebhookAttempt('job_r6', 'completed', 1, 111);
  await jobs.recordWebhookOutcome('job_r6', { state: 'retrying', status: 500, error: 'receiver answered HTTP 500' });
  expect((await jobs.get('job_r6'))!.webhook).toMatchObject({
    state: 'retrying',
    event: 'completed',
    attempts: 1,
    lastStatus: 500,
    lastError: 'receiver answered HTTP 500',
    lastAttemptAt: 111,
  });
  await jobs.recordWebhookOutcome('job_r6', { state: 'delivered', status: 204, at: 222 });
  expect((await jobs.get('job_r6'))!.webhook).toMatchObject({ state: 'delivered', lastStatus: 204, lastError: null, deliveredAt: 222 });
  await jobs.recordWebhookAttempt('job_gone2', 'completed', 1, 1);
  expect(await redis.client.exists(keys.job('job_gone2'))).toBe(0);
});

it('claims an idempotency key once, gives the first job back, releases it; discard removes every key', async () => {
  expect(await jobs.claimIdempotencyKey('alice', 'k1', 'job_a', 'body1', 60)).toBeNull();
  expect(await jobs.claimIdempotencyKey('alice', 'k1', 'job_b', 'body2', 60)).toEqual({ job: 'job_a', body: 'body1' });
  expect(await jobs.claimIdempotencyKey('bob', 'k1', 'job_c', 'body1', 60)).toBeNull();
  await jobs.releaseIdempotencyKey('alice', 'k1');
  expect(await jobs.claimIdempotencyKey('alice', 'k1', 'job_d', 'body1', 60)).toBeNull();
  await created('job_r7');
  await jobs.discard('job_r7');
  expect(await redis.client.exists(...jobKeys('job_r7'))).toBe(0);
});
