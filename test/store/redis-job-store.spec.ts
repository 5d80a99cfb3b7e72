/**
 * The JobStore port's contract, run on the Redis adapter (a real redis-server) and on the unit
 * tier's in-memory fake, so the fake behaves as the real store: records and status transitions,
 * shard starts, results, webhook states, idempotency keys. Then what only Redis has: expiry of
 * every key, sealed webhook secrets, the Lua scripts read from their files, chunked reads.
 */
import type { Redis } from 'ioredis';
import {
  type DocumentStore,
  type JobEventLog,
  type JobStore,
  compareLogEntryIds,
  LOG_START,
  type NormalizedJob,
  RedisDocumentStore,
  RedisJobEventLog,
  redisJobStore,
  type ShardDone,
} from '@rerank/jobs';
import { jobKeys, keys } from '../../libs/jobs/src/store/keys';
import { scriptSources } from '../../libs/jobs/src/store/scripts';
import { startRedis, type TestRedis } from '../support/redis-server';
import { MemoryDocumentStore, MemoryJobEventLog, MemoryJobStore } from '../unit/fakes';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const SECRET_KEY = 'unit-test-secret-key-0123456789-abcdef';

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

interface Stores {
  jobs: JobStore;
  documents: DocumentStore;
  events: JobEventLog;
}

/** Shard `n` of query 0 scored: `pairs` pairs, its top-k of one. */
const shardDone = (n: number, pairs: number): ShardDone => ({ n, q: 0, pairs, top: [{ index: n, score: n / 2 }] });

/** A job as the API stores it: texts, then the record. */
async function created(
  { jobs, documents }: Pick<Stores, 'jobs' | 'documents'>,
  id: string,
  over: Partial<NormalizedJob> = {},
): Promise<void> {
  const job = twoSetJob(over);
  await documents.write(id, job.documents);
  await jobs.create({
    id,
    tenant: 'alice',
    createdAt: 1000,
    job,
    shardsTotal: 3,
    baseUrl: 'http://api',
    requestHash: 'h1',
    requestId: `req-${id}`,
  });
}

describe.each([
  [
    'Redis',
    (): Stores => {
      const documents = new RedisDocumentStore(redis.client);
      return {
        documents,
        jobs: redisJobStore(redis.client, { documents, secretKey: SECRET_KEY }),
        events: new RedisJobEventLog(redis.client),
      };
    },
  ],
  [
    'in-memory fake',
    (): Stores => {
      const documents = new MemoryDocumentStore();
      const jobs = new MemoryJobStore(documents);
      return { documents, jobs, events: new MemoryJobEventLog(jobs) };
    },
  ],
])('JobStore contract: %s', (_name, make) => {
  let stores: Stores;
  let jobs: JobStore;
  beforeAll(() => {
    stores = make();
    jobs = stores.jobs;
  });
  afterAll(() => stores.events.close());

  it('stores a job and reads it back typed; pending and unlisted until activated', async () => {
    await created(stores, 'job_r1');
    expect((await jobs.get('job_r1'))!.pending).toBe(true);
    expect((await jobs.listOwned('alice', { limit: 100 })).jobs.map((j) => j.record.id)).not.toContain('job_r1');
    await jobs.activate('job_r1');
    await jobs.activate('job_r1');
    expect((await jobs.listOwned('alice', { limit: 100 })).jobs.map((j) => j.record.id).filter((id) => id === 'job_r1')).toEqual([
      'job_r1',
    ]);
    const r = await jobs.get('job_r1');
    expect(r).toEqual({
      id: 'job_r1',
      tenant: 'alice',
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
      webhook: {
        url: 'https://hooks.example.com/x',
        state: 'pending',
        event: null,
        attempts: 0,
        lastStatus: null,
        lastError: null,
        lastAttemptAt: null,
        deliveredAt: null,
      },
      webhookSecret: 'hook-secret',
      error: null,
      baseUrl: 'http://api',
      requestHash: 'h1',
      requestId: 'req-job_r1',
      pending: false,
    });
    expect(await jobs.shardContext('job_r1')).toEqual({
      layout: { queries: twoSetJob().queries, sets: twoSetJob().sets },
      options: { normalize: true },
      topK: 2,
      returnDocuments: true,
      requestId: 'req-job_r1',
    });
    expect(await jobs.documentIds('job_r1')).toEqual(['d0', 'd1', null, 'd3', 'd4']);
    expect(await jobs.layout('job_r1')).toEqual({ queries: twoSetJob().queries, sets: twoSetJob().sets });
    expect(await jobs.status('job_r1')).toBe('queued');
    expect(await jobs.get('job_missing')).toBeNull();
    expect(await jobs.shardContext('job_missing')).toBeNull();
    expect(await jobs.status('job_missing')).toBeNull();
  });

  it('starts a shard in one call: texts in the order asked, queued -> running; refuses ended or emptied jobs', async () => {
    await created(stores, 'job_r2');
    expect(await jobs.startShard('job_r2', 1, [4, 3], 5000)).toEqual({ state: 'ok', texts: ['b1', 'b0'] });
    expect(await jobs.get('job_r2')).toMatchObject({ status: 'running', startedAt: 5000 });
    // A second start (a re-run after a worker died) keeps started_at.
    expect(await jobs.startShard('job_r2', 1, [3], 6000)).toEqual({ state: 'ok', texts: ['b0'] });
    expect((await jobs.get('job_r2'))!.startedAt).toBe(5000);
    // A document that is not there.
    expect(await jobs.startShard('job_r2', 2, [1, 99])).toEqual({ state: 'missing' });
    expect(await jobs.finish('job_r2', 'cancelled')).toBe(true);
    expect(await jobs.startShard('job_r2', 2, [1])).toEqual({ state: 'cancelled' });
    expect(await jobs.startShard('job_gone', 0, [0])).toEqual({ state: 'gone' });
    // The texts gone (the job ended): missing.
    await created(stores, 'job_r3');
    await stores.documents.remove('job_r3');
    expect(await jobs.startShard('job_r3', 0, [0])).toEqual({ state: 'missing' });
  });

  it('finishes a job once; progress per shard; results stored and read back', async () => {
    await created(stores, 'job_r4');
    await jobs.activate('job_r4');
    await jobs.recordShard('job_r4', shardDone(0, 3));
    await jobs.recordShard('job_r4', shardDone(1, 2));
    await jobs.recordShard('job_r4', shardDone(1, 2));
    expect(await jobs.progress('job_r4')).toEqual({ shardsDone: 2, pairsDone: 5 });
    // Status polls read the job and its progress together.
    const polled = await jobs.getWithProgress('job_r4');
    expect(polled?.progress).toEqual({ shardsDone: 2, pairsDone: 5 });
    expect(polled?.record).toEqual(await jobs.get('job_r4'));
    expect(await jobs.getWithProgress('job_missing')).toBeNull();
    const scores = [
      [1, 2, 3],
      [
        [4, 5],
        [6, 7],
      ],
    ];
    await jobs.storeResults('job_r4', [{ query_index: 0 }], scores, 120);
    expect(await jobs.result('job_r4')).toEqual([{ query_index: 0 }]);
    expect(await jobs.queryScores('job_r4', 1)).toEqual(scores[1]);
    expect(await jobs.queryScores('job_r4', 2)).toBeNull();
    expect(await jobs.finish('job_r4', 'completed', undefined, 9000)).toBe(true);
    expect(await jobs.finish('job_r4', 'failed', { code: 'internal', message: 'late' })).toBe(false);
    expect(await jobs.get('job_r4')).toMatchObject({ status: 'completed', finishedAt: 9000, error: null });
    expect(await jobs.finish('job_nope', 'failed')).toBeNull();
    await created(stores, 'job_r5');
    expect(await jobs.finish('job_r5', 'failed', { code: 'shard_failed', message: 'shard 2 failed' })).toBe(true);
    expect((await jobs.get('job_r5'))!.error).toEqual({ code: 'shard_failed', message: 'shard 2 failed' });
  });

  it("logs each scored shard and the job's end in its event log, read after any position", async () => {
    await created(stores, 'job_e1');
    await jobs.activate('job_e1');
    const nan = { n: 2, q: 1, pairs: 1, top: [{ index: 0, score: Number.NaN }] };
    const layered = { n: 1, q: 1, pairs: 2, top: [{ index: 1, score: [0.5, -1.25] }] };
    await jobs.recordShard('job_e1', shardDone(0, 3));
    await jobs.recordShard('job_e1', layered);
    await jobs.recordShard('job_e1', nan);
    expect(await jobs.finish('job_e1', 'completed')).toBe(true);
    // A second finish changes nothing, so it logs nothing.
    expect(await jobs.finish('job_e1', 'failed')).toBe(false);
    const all = (await stores.events.read(new Map([['job_e1', LOG_START]]), 10)).get('job_e1') ?? [];
    // Scores go as JSON, as the shards' return values do: NaN becomes null.
    expect(all.map(({ id: _id, at: _at, ...e }) => e)).toEqual([
      { kind: 'shard', shard: shardDone(0, 3) },
      { kind: 'shard', shard: layered },
      { kind: 'shard', shard: { ...nan, top: [{ index: 0, score: null }] } },
      { kind: 'end', status: 'completed' },
    ]);
    const ids = all.map((e) => e.id);
    expect([...ids].sort(compareLogEntryIds)).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    const later = await stores.events.read(
      new Map([
        ['job_e1', ids[1]],
        ['job_none', LOG_START],
      ]),
      10,
    );
    expect([...later.keys()]).toEqual(['job_e1']);
    expect(later.get('job_e1')?.map((e) => e.id)).toEqual(ids.slice(2));
    expect((await stores.events.read(new Map([['job_e1', ids[3]]]), 10)).size).toBe(0);
  });

  it('records webhook attempts and outcomes on the job, never on a job that is gone', async () => {
    await created(stores, 'job_r6');
    expect(await jobs.recordWebhookAttempt('job_r6', 'completed', 111)).toBe(1);
    await jobs.recordWebhookOutcome('job_r6', { state: 'retrying', status: 500, error: 'receiver answered HTTP 500' });
    expect((await jobs.get('job_r6'))!.webhook).toEqual({
      url: 'https://hooks.example.com/x',
      state: 'retrying',
      event: 'completed',
      attempts: 1,
      lastStatus: 500,
      lastError: 'receiver answered HTTP 500',
      lastAttemptAt: 111,
      deliveredAt: null,
    });
    // Counted as each starts: the second attempt is number 2.
    expect(await jobs.recordWebhookAttempt('job_r6', 'completed', 150)).toBe(2);
    await jobs.recordWebhookOutcome('job_r6', { state: 'delivered', status: 204, at: 222 });
    expect((await jobs.get('job_r6'))!.webhook).toMatchObject({
      state: 'delivered',
      attempts: 2,
      lastStatus: 204,
      lastError: null,
      lastAttemptAt: 150,
      deliveredAt: 222,
    });
    expect(await jobs.recordWebhookAttempt('job_gone2', 'completed', 1)).toBeNull();
    await jobs.recordWebhookOutcome('job_gone2', { state: 'failed', status: null, error: 'x' });
    expect(await jobs.get('job_gone2')).toBeNull();
  });

  it('claims an idempotency key once, gives the first job back, renews, commits, takes over, releases it; discard removes the job and its listing entry', async () => {
    const a = { job: 'job_a', body: 'body1', leaseUntil: 1000 };
    expect(await jobs.claimIdempotencyKey('alice', 'k1', a, 60)).toBeNull();
    expect(await jobs.claimIdempotencyKey('alice', 'k1', { job: 'job_b', body: 'body2' }, 60)).toEqual(a);
    expect(await jobs.claimIdempotencyKey('bob', 'k1', { job: 'job_c', body: 'body1' }, 60)).toBeNull();
    // Renewed only by the holder of the lease it names.
    const renewed = { ...a, leaseUntil: 2000 };
    expect(await jobs.updateIdempotencyKey('alice', 'k1', a, renewed, 60)).toBe(true);
    expect(await jobs.updateIdempotencyKey('alice', 'k1', a, { ...a, leaseUntil: 3000 }, 60)).toBe(false);
    // A retry takes over the claim it read, and only that one.
    const b = { job: 'job_b', body: 'body1', leaseUntil: 5000 };
    expect(await jobs.claimIdempotencyKey('alice', 'k1', b, 60, a)).toEqual(renewed);
    expect(await jobs.claimIdempotencyKey('alice', 'k1', b, 60, renewed)).toBeNull();
    // The first request's release no longer frees the key; the commit drops the lease.
    await jobs.releaseIdempotencyKey('alice', 'k1', renewed);
    expect(await jobs.updateIdempotencyKey('alice', 'k1', b, { job: 'job_b', body: 'body1' }, 60)).toBe(true);
    expect(await jobs.claimIdempotencyKey('alice', 'k1', { job: 'job_x', body: 'body1' }, 60)).toEqual({ job: 'job_b', body: 'body1' });
    await jobs.releaseIdempotencyKey('alice', 'k1', { job: 'job_b', body: 'body1' });
    expect(await jobs.claimIdempotencyKey('alice', 'k1', { job: 'job_d', body: 'body1' }, 60)).toBeNull();
    await created(stores, 'job_r7');
    await jobs.discard('job_r7', 'alice');
    expect(await jobs.get('job_r7')).toBeNull();
    const listed = await jobs.listOwned('alice', { limit: 100 });
    expect(listed.jobs.map((j) => j.record.id)).not.toContain('job_r7');
  });
});

describe('Redis adapter', () => {
  let client: Redis;
  let documents: RedisDocumentStore;
  let jobs: JobStore;
  beforeAll(() => {
    client = redis.client;
    documents = new RedisDocumentStore(client);
    jobs = redisJobStore(client, { documents, secretKey: SECRET_KEY });
  });

  it('every Lua script is read from its file, its key count from the file name', () => {
    const sources = scriptSources();
    expect(Object.fromEntries(Object.entries(sources).map(([name, s]) => [name, s.numberOfKeys]))).toEqual({
      activate: 3,
      'claim-active-job': 1,
      'fair-retag': 3,
      'fair-unlock': 1,
      'fair-waiting': 2,
      finish: 2,
      'idempotency-swap': 1,
      'start-shard': 3,
      'update-existing': 1,
      'webhook-attempt': 1,
    });
    for (const { lua } of Object.values(sources)) expect(lua).toMatch(/redis\.call/);
  });

  it('a job and its texts expire until activated, then stay until they end; the webhook secret is sealed at rest', async () => {
    await created({ jobs, documents }, 'job_x1');
    for (const k of [
      ...jobKeys('job_x1').filter((k) => k.endsWith(':layout') || k.endsWith(':docids') || k === keys.job('job_x1')),
      keys.docs('job_x1'),
    ])
      expect([k, (await client.ttl(k)) > 3000]).toEqual([k, true]);
    await jobs.activate('job_x1');
    await documents.keep('job_x1');
    expect([await client.ttl(keys.job('job_x1')), await client.ttl(keys.docs('job_x1'))]).toEqual([-1, -1]);
    expect(await client.hget(keys.job('job_x1'), 'webhook_secret')).toMatch(/^enc:v1:/);
    // Without the key the secret cannot be opened, and the record says why.
    expect(await redisJobStore(client, { documents }).get('job_x1')).toMatchObject({
      webhookSecret: null,
      webhookSecretError: expect.stringMatching(/RERANK_SECRET_KEY is not set/),
    });
  });

  it('activating a job that already ended (a retry completing a crashed creation) keeps its expiry', async () => {
    await created({ jobs, documents }, 'job_x8');
    await jobs.finish('job_x8', 'completed');
    await jobs.expire('job_x8', 120);
    await jobs.activate('job_x8');
    expect(await client.ttl(keys.job('job_x8'))).toBe(120);
    expect((await jobs.get('job_x8'))!.pending).toBe(false);
  });

  it('counts each start of a shard (a count above 1: run again after a worker died); a start of missing texts counts nothing', async () => {
    await created({ jobs, documents }, 'job_x2');
    await jobs.startShard('job_x2', 1, [4, 3]);
    await jobs.startShard('job_x2', 1, [3]);
    await jobs.startShard('job_x2', 0, [0]);
    await jobs.startShard('job_x2', 2, [1, 99]);
    expect(await client.hgetall(keys.runs('job_x2'))).toEqual({ '0': '1', '1': '2' });
  });

  it('reads thousands of texts in one start (HMGET in chunks inside the script)', async () => {
    const n = 2500;
    const texts = Array.from({ length: n }, (_, i) => `text ${i}`);
    await created({ jobs, documents }, 'job_x3', {
      documents: texts,
      documentIds: null,
      sets: [{ offset: 0, count: n }],
      queries: [{ id: null, text: 'q', set: 0 }],
    });
    const indices = Array.from({ length: n }, (_, i) => n - 1 - i);
    const start = await jobs.startShard('job_x3', 0, indices);
    expect(start.state === 'ok' && start.texts).toEqual(indices.map((i) => `text ${i}`));
    expect(await documents.read('job_x3', indices)).toEqual(indices.map((i) => `text ${i}`));
  });

  it('results and the expiry of every key of the job in one MULTI; expire touches no texts', async () => {
    await created({ jobs, documents }, 'job_x4');
    await jobs.activate('job_x4');
    await documents.keep('job_x4');
    await jobs.recordShard('job_x4', shardDone(0, 5));
    await jobs.storeResults('job_x4', [], [[1]], 120);
    for (const k of [
      keys.job('job_x4'),
      keys.layout('job_x4'),
      keys.progress('job_x4'),
      keys.events('job_x4'),
      keys.result('job_x4'),
      keys.scores('job_x4'),
    ])
      expect([k, await client.ttl(k)]).toEqual([k, 120]);
    expect(await client.ttl(keys.docs('job_x4'))).toBe(-1);
  });

  it('a webhook state on a job that expired meanwhile does not bring the hash back (one script, no TTL-less stub)', async () => {
    await created({ jobs, documents }, 'job_x5');
    await client.pexpire(keys.job('job_x5'), 1);
    await new Promise((r) => setTimeout(r, 20));
    await jobs.recordWebhookOutcome('job_x5', { state: 'delivered', status: 200, at: 1 });
    expect(await client.exists(keys.job('job_x5'))).toBe(0);
    // On a job that lives, the write keeps its TTL.
    await created({ jobs, documents }, 'job_x6');
    expect(await jobs.recordWebhookAttempt('job_x6', 'completed', 2)).toBe(1);
    expect(await client.ttl(keys.job('job_x6'))).toBeGreaterThan(3000);
  });

  it('discard removes every key of the job', async () => {
    await created({ jobs, documents }, 'job_x7');
    await jobs.discard('job_x7', 'alice');
    await documents.remove('job_x7');
    expect(await client.exists(...jobKeys('job_x7'), keys.docs('job_x7'))).toBe(0);
    expect(await client.zscore(keys.ownerJobs('alice'), 'job_x7')).toBeNull();
  });
});
