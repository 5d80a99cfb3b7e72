/** The shard worker in-process: real repository and registry on a real redis-server, a fake scorer, a fake queue consumer. */
import { PRIORITY_DEFAULT, PRIORITY_INTERACTIVE } from '@rerank/engine';
import {
  JobRepository,
  type NormalizedJob,
  PermanentTaskError,
  type QueueConsumer,
  type ScoringJobData,
  type ShardReturn,
  type SyncReturn,
  WorkersRegistry,
} from '@rerank/jobs';
import { ShardWorker } from '../../apps/worker/src/shard-worker';
import { startRedis, type TestRedis } from '../support/redis-server';
import { FakeScorer, unitConfig } from './fakes';

let redis: TestRedis;
let jobs: JobRepository;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  redis = await startRedis();
  jobs = new JobRepository(redis.client);
});
afterAll(async () => {
  await redis?.stop();
});

function worker(
  scorer = new FakeScorer(),
  consume: (h: (d: ScoringJobData) => Promise<ShardReturn | SyncReturn>) => QueueConsumer = () => fakeConsumer(),
) {
  return new ShardWorker(unitConfig(redis.url), 'cpu', {
    jobs,
    registry: new WorkersRegistry(redis.client),
    scorer,
    consume,
    id: 'unit-worker',
    log: silent,
  });
}

function fakeConsumer(): QueueConsumer & { closed: boolean } {
  const c = {
    name: 'shards',
    closed: false,
    isRunning: () => !c.closed,
    waitUntilReady: async () => undefined,
    close: async () => void (c.closed = true),
  };
  return c;
}

async function storeJob(id: string, documents: string[], returnDocuments: boolean, topK = 2, priority = 0): Promise<void> {
  const job = {
    model: 'enc',
    family: 'encoder',
    queries: [
      { id: null, text: 'first', set: 0 },
      { id: null, text: 'second', set: 1 },
    ],
    sets: [
      { offset: 0, count: 2 },
      { offset: 2, count: documents.length - 2 },
    ],
    documents,
    documentIds: null,
    pairs: documents.length,
    topK,
    returnDocuments,
    options: { maxLength: 64 },
    webhook: null,
    metadata: null,
    priority,
  } as NormalizedJob;
  await jobs.create({ id, owner: 'o', createdAt: 1, job, shardsTotal: 2, baseUrl: '', requestHash: '' });
}

it('scores a shard of the second set: its own texts by flat index, scores in idx order, the top-k texts returned, progress and the run recorded', async () => {
  await storeJob('job_w1', ['x', 'yy', 'ccc', 'a', 'bbbbb', 'dd'], true);
  const scorer = new FakeScorer();
  const w = worker(scorer);
  const out = await w.handle({ kind: 'shard', jobId: 'job_w1', n: 1, model: 'enc', q: 1, idx: [3, 0, 2, 1] });
  // Set 1 starts at flat index 2: idx 0..3 are 'ccc', 'a', 'bbbbb', 'dd'.
  expect(scorer.calls).toEqual([
    {
      model: 'enc',
      pairs: [
        ['second', 'dd'],
        ['second', 'ccc'],
        ['second', 'bbbbb'],
        ['second', 'a'],
      ],
      options: { maxLength: 64 },
      // Bulk work of the job's owner, the job one group of weight 1 (priority 0).
      schedule: { priority: PRIORITY_DEFAULT, tenant: 'o', group: 'job_w1', weight: 1 },
    },
  ]);
  expect(out).toEqual({
    q: 1,
    idx: [3, 0, 2, 1],
    s: [2, 3, 5, 1],
    texts: [
      [2, 'bbbbb'],
      [0, 'ccc'],
    ],
  });
  expect(await jobs.progress('job_w1')).toEqual({ shardsDone: 1, pairsDone: 4 });
  expect(await jobs.shardRuns('job_w1')).toEqual({ '1': 1 });
  expect((await jobs.get('job_w1'))!.status).toBe('running');
});

it('returns no texts when the job does not return documents; ties in the shard top-k go to the lower index', async () => {
  await storeJob('job_w2', ['x', 'yy', 'aa', 'bb', 'cc'], false);
  expect(await worker().handle({ kind: 'shard', jobId: 'job_w2', n: 0, model: 'enc', q: 1, idx: [2, 1, 0] })).toEqual({
    q: 1,
    idx: [2, 1, 0],
    s: [2, 2, 2],
  });
  await storeJob('job_w3', ['x', 'yy', 'aa', 'bb', 'cc'], true);
  expect(await worker().handle({ kind: 'shard', jobId: 'job_w3', n: 0, model: 'enc', q: 1, idx: [2, 1, 0] })).toMatchObject({
    texts: [
      [0, 'aa'],
      [1, 'bb'],
    ],
  });
});

it('skips shards of cancelled, vanished or emptied jobs without scoring them', async () => {
  const scorer = new FakeScorer();
  const w = worker(scorer);
  await storeJob('job_w4', ['x', 'yy', 'z'], false);
  await jobs.finish('job_w4', 'cancelled');
  expect(await w.handle({ kind: 'shard', jobId: 'job_w4', n: 0, model: 'enc', q: 0, idx: [0] })).toEqual({
    skipped: true,
    reason: 'job cancelled',
  });
  expect(await w.handle({ kind: 'shard', jobId: 'job_w404', n: 0, model: 'enc', q: 0, idx: [0] })).toEqual({
    skipped: true,
    reason: 'job not found (expired or removed)',
  });
  await storeJob('job_w5', ['x', 'yy', 'z'], false);
  await jobs.expire('job_w5', 60);
  expect(await w.handle({ kind: 'shard', jobId: 'job_w5', n: 0, model: 'enc', q: 0, idx: [0] })).toEqual({
    skipped: true,
    reason: 'job documents not found (job ended)',
  });
  expect(scorer.calls).toHaveLength(0);
  expect(await jobs.shardRuns('job_w5')).toEqual({});
});

it("passes a job's priority as its weight on the device: priority 3 → 1/4", async () => {
  await storeJob('job_w6', ['x', 'yy', 'zzz'], false, 2, 3);
  const scorer = new FakeScorer();
  await worker(scorer).handle({ kind: 'shard', jobId: 'job_w6', n: 0, model: 'enc', q: 1, idx: [0] });
  expect(scorer.calls.map((c) => c.schedule)).toEqual([{ priority: PRIORITY_DEFAULT, tenant: 'o', group: 'job_w6', weight: 0.25 }]);
});

it('scores a synchronous request from its own texts, interactive for its owner; a bad option fails it for good', async () => {
  const scorer = new FakeScorer();
  const w = worker(scorer);
  expect(await w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['abc', 'a'], options: {}, owner: 'key-b' })).toEqual({
    scores: [3, 1],
    tokens: 4,
    pairs: 2,
  });
  // Without an owner (a part queued by an older API): interactive, no tenant.
  await w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['a'], options: {} });
  expect(scorer.calls.map((c) => c.schedule)).toEqual([
    { priority: PRIORITY_INTERACTIVE, tenant: 'key-b' },
    { priority: PRIORITY_INTERACTIVE },
  ]);
  await expect(w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['a'], options: { maxLength: -1 } })).rejects.toBeInstanceOf(
    PermanentTaskError,
  );
});

it('start loads the models, takes tasks from its consumer and beats; stop closes consumer and scorer and leaves the registry', async () => {
  const scorer = new FakeScorer();
  const consumer = fakeConsumer();
  let handler: ((d: ScoringJobData) => Promise<ShardReturn | SyncReturn>) | undefined;
  const w = worker(scorer, (h) => {
    handler = h;
    return consumer;
  });
  const registry = new WorkersRegistry(redis.client);
  await w.start();
  expect(scorer.loaded).toBe(true);
  const live = await registry.live();
  expect(live.map((h) => [h.id, h.state, h.device, h.models.map((m) => m.name)])).toEqual([['unit-worker', 'ready', 'cpu', ['enc']]]);
  expect(await handler!({ kind: 'sync', model: 'enc', query: 'q', documents: ['ab'], options: {} })).toEqual({
    scores: [2],
    tokens: 2,
    pairs: 1,
  });
  await w.stop();
  expect([consumer.closed, scorer.closed]).toEqual([true, true]);
  expect(await registry.live()).toEqual([]);
});
