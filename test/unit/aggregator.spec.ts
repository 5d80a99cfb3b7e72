/**
 * The aggregator in-process on fakes of its ports (job and document stores, registry, aggregation
 * tasks, webhook queue): no Redis. Webhooks go to a receiver in this process.
 */
import { type NormalizedJob, verifySignature } from '@rerank/jobs';
import { Aggregator } from '../../apps/aggregator/src/aggregator';
import { type Receiver, startReceiver } from '../support/webhook-receiver';
import { aggregationTask, FakeWebhookQueue, MemoryDocumentStore, MemoryJobStore, MemoryWorkersRegistry, unitConfig } from './fakes';

const documents = new MemoryDocumentStore();
const jobs = new MemoryJobStore(documents);
let receiver: Receiver;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

function aggregator(webhooks = new FakeWebhookQueue()) {
  const config = unitConfig({ RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost', RERANK_WEBHOOK_ATTEMPTS: '2' });
  return new Aggregator(config, { jobs, documents, registry: new MemoryWorkersRegistry(), webhooks, consume: () => [], log: silent });
}

async function storeJob(id: string, over: Partial<NormalizedJob> = {}): Promise<void> {
  const job = {
    model: 'enc',
    family: 'encoder',
    queries: [
      { id: 'q-a', text: 'first', set: 0 },
      { id: null, text: 'second', set: 1 },
    ],
    sets: [
      { offset: 0, count: 3 },
      { offset: 3, count: 2 },
    ],
    documents: ['a0', 'a1', 'a2', 'b0', 'b1'],
    documentIds: ['d0', 'd1', 'd2', 'd3', 'd4'],
    pairs: 5,
    topK: 2,
    returnDocuments: true,
    options: {},
    webhook: { url: receiver.url, secret: 'agg-secret' },
    metadata: null,
    ...over,
  } as NormalizedJob;
  await documents.write(id, job.documents);
  await jobs.create({ id, tenant: 'o', createdAt: 1, job, shardsTotal: 3, baseUrl: 'http://api', requestHash: '' });
  await jobs.activate(id);
  await documents.keep(id);
}

it('merges shard scores into top-k per query with ids and the texts the shards carried, completes the job once, queues its webhook', async () => {
  await storeJob('job_g1');
  const webhooks = new FakeWebhookQueue();
  const a = aggregator(webhooks);
  const task = aggregationTask('job_g1', [
    {
      q: 0,
      idx: [2, 0],
      s: [0.5, 0.9],
      texts: [
        [0, 'a0'],
        [2, 'a2'],
      ],
    },
    { q: 0, idx: [1], s: [0.5], texts: [[1, 'a1']] },
    {
      q: 1,
      idx: [1, 0],
      s: [
        [0.1, 0.2],
        [0.3, 0.1],
      ],
      texts: [
        [0, 'b0'],
        [1, 'b1'],
      ],
    },
  ]);
  expect(await a.aggregate(task)).toEqual({ merged: 3 });
  const results = await jobs.result('job_g1');
  expect(results).toEqual([
    {
      query_index: 0,
      query_id: 'q-a',
      query: 'first',
      top_k: [
        { index: 0, id: 'd0', score: 0.9, document: { text: 'a0' } },
        // A tie of 0.5 across two shards: the lower index first.
        { index: 1, id: 'd1', score: 0.5, document: { text: 'a1' } },
      ],
    },
    {
      query_index: 1,
      query: 'second',
      top_k: [
        { index: 1, id: 'd4', score: 0.2, scores: [0.1, 0.2], document: { text: 'b1' } },
        { index: 0, id: 'd3', score: 0.1, scores: [0.3, 0.1], document: { text: 'b0' } },
      ],
    },
  ]);
  expect(await jobs.queryScores('job_g1', 0)).toEqual([0.9, 0.5, 0.5]);
  expect((await jobs.get('job_g1'))!.status).toBe('completed');
  expect(await documents.has('job_g1')).toBe(false);
  expect(jobs.ttl('job_g1')).toBe(unitConfig().jobs.resultTtlSeconds);
  expect(webhooks.queued).toEqual([{ jobId: 'job_g1', event: 'completed' }]);
  // Run again (a retried aggregation): nothing to merge, the webhook queued again is a no-op.
  expect(await a.aggregate(aggregationTask('job_g1', []))).toEqual({ skipped: 'completed' });
  expect(webhooks.queued).toHaveLength(1);
});

it('reads from the document store only the top-k texts no shard carried (shards of an older worker)', async () => {
  await storeJob('job_g2');
  await aggregator().aggregate(
    aggregationTask('job_g2', [
      { q: 0, idx: [0, 1, 2], s: [1, 3, 2] },
      { q: 1, idx: [0, 1], s: [1, 0], texts: [[0, 'carried b0']] },
    ]),
  );
  const top = (await jobs.result('job_g2')) as { top_k: { document: { text: string } }[] }[];
  expect(top.map((q) => q.top_k.map((d) => d.document.text))).toEqual([
    ['a1', 'a2'],
    ['carried b0', 'b1'],
  ]);
});

it('fails the job with the first failed shard, removes the shards not taken, sends job.failed', async () => {
  await storeJob('job_g3');
  const webhooks = new FakeWebhookQueue();
  const task = aggregationTask('job_g3', [], [{ shard: '2', code: 'scoring_failed', message: 'engine exploded' }]);
  expect(await aggregator(webhooks).aggregate(task)).toEqual({ failed: 'shard 2 failed after 3 attempt(s): engine exploded' });
  expect(task.removedPending).toBe(true);
  expect((await jobs.get('job_g3'))!.error).toEqual({
    code: 'shard_failed',
    message: 'shard 2 failed after 3 attempt(s): engine exploded',
  });
  expect(webhooks.queued).toEqual([{ jobId: 'job_g3', event: 'failed' }]);
});

it('words a shard failure by its code: out of infrastructure retries or refused options, failed at once', async () => {
  for (const [id, code, reason] of [
    ['job_g8', 'redis_unavailable', 'Redis unavailable for 100 ms while starting shard 0 of job job_g8'],
    ['job_g9', 'bad_options', 'maxLength: must be positive'],
  ] as const) {
    await storeJob(id, { webhook: null });
    expect(await aggregator().aggregate(aggregationTask(id, [], [{ shard: '0', code, message: reason }]))).toEqual({
      failed: `shard 0 failed: ${reason}`,
    });
    expect((await jobs.get(id))!.error).toEqual({ code: 'shard_failed', message: `shard 0 failed: ${reason}` });
  }
});

it('drops a cancelled job whose shards were skipped; an aggregation failing for good fails the job', async () => {
  await storeJob('job_g4');
  await jobs.finish('job_g4', 'cancelled');
  expect(await aggregator().aggregate(aggregationTask('job_g4', [{ skipped: true, reason: 'job cancelled' }]))).toEqual({
    skipped: 'cancelled',
  });
  await storeJob('job_g5', { webhook: null });
  await aggregator().aggregationFailed(aggregationTask('job_g5', []), new Error('Redis said no'));
  expect((await jobs.get('job_g5'))!).toMatchObject({
    status: 'failed',
    error: { code: 'aggregation_failed', message: 'aggregation failed: Redis said no' },
  });
});

it('delivers a signed webhook and records it; a refusing receiver is recorded as retrying, then failed', async () => {
  await storeJob('job_g6');
  const a = aggregator();
  await a.aggregate(
    aggregationTask('job_g6', [
      { q: 0, idx: [0, 1, 2], s: [1, 2, 3] },
      { q: 1, idx: [0, 1], s: [1, 2] },
    ]),
  );
  expect(await a.deliver({ jobId: 'job_g6', event: 'completed', maxAttempts: 2, deliveryId: 'dlv-1' })).toEqual({
    status: 200,
  });
  const got = receiver.deliveries.find((r) => r.headers['x-rerank-delivery'] === 'dlv-1')!;
  expect(verifySignature('agg-secret', got.headers['x-rerank-signature'] as string, got.raw)).toMatchObject({ ok: true });
  expect(got.json).toMatchObject({ id: 'job_g6', status: 'completed' });
  expect((await jobs.get('job_g6'))!.webhook).toMatchObject({ state: 'delivered', event: 'completed', attempts: 1, lastStatus: 200 });
  // Delivered already: a repeated run does not POST again.
  expect(await a.deliver({ jobId: 'job_g6', event: 'completed', maxAttempts: 2, deliveryId: 'dlv-1' })).toEqual({
    skipped: 'delivered',
  });

  await storeJob('job_g7', { webhook: { url: 'http://127.0.0.1:1/closed', secret: null } });
  await jobs.finish('job_g7', 'cancelled');
  await expect(a.deliver({ jobId: 'job_g7', event: 'cancelled', maxAttempts: 2, deliveryId: 'dlv-2' })).rejects.toThrow();
  expect((await jobs.get('job_g7'))!.webhook).toMatchObject({ state: 'retrying', attempts: 1 });
  await expect(a.deliver({ jobId: 'job_g7', event: 'cancelled', maxAttempts: 2, deliveryId: 'dlv-2' })).rejects.toThrow();
  expect((await jobs.get('job_g7'))!.webhook).toMatchObject({ state: 'failed', attempts: 2 });
});
