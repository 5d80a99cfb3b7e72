/**
 * Redis refusing writes (OOM under a tiny maxmemory with noeviction, set with CONFIG SET on the
 * real redis-server) in the middle of a job: reads keep working, every write fails. Workers and
 * the aggregator retry those writes (RERANK_INFRA_RETRY_MS) instead of failing the job, which
 * completes once Redis is writable again; past the bounded retry time the job fails with the reason.
 */
import { verifySignature } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, removeTestModels, referenceScores } from '../support/model';
import { waitFor } from '../support/processes';
import { type Receiver, startReceiver } from '../support/webhook-receiver';

jest.setTimeout(240000);

const SECRET = 'oom-webhook-secret-123';
const WEBHOOK_ENV = { RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost', RERANK_WEBHOOK_BACKOFF_MS: '500' };
const OOM_REPLY = /OOM command not allowed/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await cluster?.stop();
  await receiver?.close();
  cluster = undefined;
  receiver = undefined;
});
afterAll(() => removeTestModels());

/** Every write refused from now on (maxmemory 1 byte, noeviction); reads still answer. */
async function refuseWrites(c: Cluster): Promise<void> {
  await c.redis.client.config('SET', 'maxmemory-policy', 'noeviction');
  await c.redis.client.config('SET', 'maxmemory', '1');
  await expect(c.redis.client.set('rerank:test:probe', '1')).rejects.toThrow(OOM_REPLY);
}

async function acceptWrites(c: Cluster): Promise<void> {
  await c.redis.client.config('SET', 'maxmemory', '0');
  expect(await c.redis.client.set('rerank:test:probe', '1')).toBe('OK');
  await c.redis.client.del('rerank:test:probe');
}

async function startJob(c: Cluster, docs: string[], query: string, r: Receiver): Promise<string> {
  const created = await c.client.post('/v1/jobs', {
    model: 'tiny',
    query,
    documents: docs,
    top_k: 5,
    webhook: { url: r.url, secret: SECRET },
  });
  expect(created.status).toBe(202);
  return created.body.id;
}

it("a job running while Redis refuses writes for 10 s completes with the engine's scores and one signed webhook", async () => {
  const dir = await testEncoderDir();
  receiver = await startReceiver();
  const c = (cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '150', ...WEBHOOK_ENV },
  }));
  const docs = makeDocuments(3000, 91, 4, 30);
  const query = 'harbor station';
  const id = await startJob(c, docs, query, receiver);
  await waitFor(
    'some progress',
    async () => ((await c.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done >= 300 ? true : undefined),
    60000,
    50,
  );

  await refuseWrites(c);
  await sleep(10000);
  // Still running, not failed: nothing spent the job's attempts (reads answer during the OOM).
  const during = await c.client.get(`/v1/jobs/${id}`);
  expect(during.status).toBe(200);
  expect(during.body.status).toBe('running');
  expect(during.body.progress.pairs_done).toBeLessThan(3000);
  await acceptWrites(c);

  const view = await c.client.waitJob(id, 180000, undefined, 250);
  expect(view.status).toBe('completed');
  expect(view.progress).toMatchObject({ pairs_done: 3000, pairs_total: 3000 });
  const expected = await referenceScores(dir, query, docs);
  const all = await c.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
  expect(all.status).toBe(200);
  expect(all.body.results[0].scores).toEqual(expected);

  const r = receiver;
  await waitFor(
    'the webhook',
    async () => (r.deliveries.length > 0 && (await c.client.get(`/v1/jobs/${id}`)).body.webhook?.state === 'delivered' ? true : undefined),
    60000,
    100,
  );
  // Long enough for a repeated delivery (retry backoff 500 ms) to show up if there were one.
  await sleep(4000);
  expect(r.deliveries).toHaveLength(1);
  const d = r.deliveries[0];
  expect(d.json).toMatchObject({ event: 'job.completed', id, status: 'completed' });
  expect(verifySignature(SECRET, d.headers['x-rerank-signature'] as string, d.raw).ok).toBe(true);
  expect(verifySignature('another-secret-xyz', d.headers['x-rerank-signature'] as string, d.raw).ok).toBe(false);

  // Synchronous requests leave nothing behind once answered (the texts are not kept for a minute).
  const marker = 'zebra-crossing-marker-text';
  const sync = await c.client.post('/v1/rerank', {
    model: 'tiny',
    query: 'what is a crossing',
    documents: [marker, 'pasta recipes', 'a quiet harbor'],
  });
  expect(sync.status).toBe(200);
  expect(sync.body.results).toHaveLength(3);
  const shardKeys = (await c.redis.client.keys('rerank:q:shards:*')).filter(
    (k) =>
      /^rerank:q:shards:[^:]+$/.test(k) &&
      !/:(wait|prioritized|active|completed|failed|delayed|paused|meta|id|events|marker|stalled|stalled-check|limiter|pc)$/.test(k),
  );
  const syncJobs = [];
  for (const k of shardKeys)
    if ((await c.redis.client.type(k)) === 'hash' && (await c.redis.client.hget(k, 'name')) === 'sync') syncJobs.push(k);
  expect(syncJobs).toEqual([]);
  expect(await c.redis.client.zcard('rerank:q:shards:completed')).toBe(0);
});

it("gives up after RERANK_INFRA_RETRY_MS and fails the job with Redis's reason", async () => {
  const dir = await testEncoderDir();
  receiver = await startReceiver();
  // Locks outlive the outage here, so the shard that gives up keeps it and its failure is recorded.
  const c = (cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: {
      RERANK_THREADS: '1',
      RERANK_SHARD_MAX_PAIRS: '150',
      RERANK_INFRA_RETRY_MS: '1500',
      RERANK_LOCK_DURATION_MS: '60000',
      ...WEBHOOK_ENV,
    },
  }));
  const docs = makeDocuments(3000, 92, 4, 30);
  const id = await startJob(c, docs, 'quiet river', receiver);
  await waitFor(
    'some progress',
    async () => ((await c.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done >= 300 ? true : undefined),
    60000,
    50,
  );

  await refuseWrites(c);
  await sleep(6000);
  await acceptWrites(c);

  const view = await c.client.waitJob(id, 120000, undefined, 250);
  expect(view.status).toBe('failed');
  expect(view.error.code).toBe('shard_failed');
  expect(view.error.message).toMatch(
    /^shard \d+ failed: Redis unavailable for \d+ ms while (?:starting|recording the progress of) shard \d+ of job job_\S+ \(gave up after RERANK_INFRA_RETRY_MS\): OOM command not allowed/,
  );
  const r = receiver;
  await waitFor('the failure webhook', () => (r.deliveries.length > 0 ? true : undefined), 30000);
  await sleep(2000);
  expect(r.deliveries).toHaveLength(1);
  expect(r.deliveries[0].json).toMatchObject({ event: 'job.failed', id, status: 'failed', error: { code: 'shard_failed' } });
});
