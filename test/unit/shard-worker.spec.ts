/** The shard worker in-process on fakes of its ports (job and document stores, registry, scorer, queue consumer, cancels): no Redis. */
import { ScoringCancelledError } from '@rerank/engine';
import {
  jobSchedule,
  type NormalizedJob,
  type PairScore,
  PermanentTaskError,
  type QueueConsumer,
  requestSchedule,
  type ScoringJobData,
  type ShardJobData,
  type ShardReturn,
  type SyncReturn,
} from '@rerank/jobs';
import { ShardWorker } from '../../apps/worker/src/shard-worker';
import { FakeCancelSignals, FakeScorer, MemoryDocumentStore, MemoryJobStore, MemoryWorkersRegistry, unitConfig } from './fakes';

const documents = new MemoryDocumentStore();
const jobs = new MemoryJobStore(documents);
const registry = new MemoryWorkersRegistry();
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function worker(
  scorer = new FakeScorer(),
  consume: (h: (d: ScoringJobData) => Promise<ShardReturn | SyncReturn>, admit: (shard: ShardJobData) => boolean) => QueueConsumer = () =>
    fakeConsumer(),
  cancels?: FakeCancelSignals,
) {
  return new ShardWorker(unitConfig(), 'cpu', {
    jobs,
    registry,
    scorer,
    consume,
    id: 'unit-worker',
    log: silent,
    ...(cancels ? { cancels } : {}),
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

async function storeJob(id: string, texts: string[], returnDocuments: boolean, topK = 2): Promise<void> {
  const job = {
    model: 'enc',
    family: 'encoder',
    queries: [
      { id: null, text: 'first', set: 0 },
      { id: null, text: 'second', set: 1 },
    ],
    sets: [
      { offset: 0, count: 2 },
      { offset: 2, count: texts.length - 2 },
    ],
    documents: texts,
    documentIds: null,
    pairs: texts.length,
    topK,
    returnDocuments,
    options: { maxLength: 64 },
    webhook: null,
    metadata: null,
    priority: 0,
  } as NormalizedJob;
  await documents.write(id, texts);
  await jobs.create({ id, tenant: 'o', createdAt: 1, job, shardsTotal: 2, baseUrl: '', requestHash: '' });
}

it('scores a shard of the second set: its own texts by flat index, scores in idx order, the top-k texts returned, progress and the run recorded', async () => {
  await storeJob('job_w1', ['x', 'yy', 'ccc', 'a', 'bbbbb', 'dd'], true);
  const scorer = new FakeScorer();
  const w = worker(scorer);
  const schedule = jobSchedule('o', 'job_w1');
  const out = await w.handle({ kind: 'shard', jobId: 'job_w1', n: 1, model: 'enc', q: 1, idx: [3, 0, 2, 1], schedule });
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
      // The job's schedule as it came with the shard: batch work of tenant o, the job one group of weight 1.
      // With the signal a cancel of the job aborts.
      schedule: { class: 'batch', tenant: 'o', group: 'job_w1', weight: 1, signal: expect.any(AbortSignal) },
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
  expect(jobs.shardRuns('job_w1')).toEqual({ '1': 1 });
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
  await documents.remove('job_w5');
  expect(await w.handle({ kind: 'shard', jobId: 'job_w5', n: 0, model: 'enc', q: 0, idx: [0] })).toEqual({
    skipped: true,
    reason: 'job documents not found (job ended)',
  });
  expect(scorer.calls).toHaveLength(0);
  expect(jobs.shardRuns('job_w5')).toEqual({});
});

it("passes a shard's schedule to the device unchanged (priority 3: weight 1/4); a shard of an older API, without one, is the shared tenant's", async () => {
  await storeJob('job_w6', ['x', 'yy', 'zzz'], false, 2);
  const scorer = new FakeScorer();
  const w = worker(scorer);
  await w.handle({ kind: 'shard', jobId: 'job_w6', n: 0, model: 'enc', q: 1, idx: [0], schedule: jobSchedule('o', 'job_w6', 3) });
  await w.handle({ kind: 'shard', jobId: 'job_w6', n: 1, model: 'enc', q: 0, idx: [0] });
  expect(scorer.calls.map((c) => c.schedule)).toEqual([
    { class: 'batch', tenant: 'o', group: 'job_w6', weight: 0.25, signal: expect.any(AbortSignal) },
    { class: 'batch', tenant: 'open', group: 'job_w6', weight: 1, signal: expect.any(AbortSignal) },
  ]);
});

it('scores a synchronous request from its own texts, interactive for its tenant; a bad option fails it for good', async () => {
  const scorer = new FakeScorer();
  const w = worker(scorer);
  const schedule = requestSchedule('key-b', 1);
  expect(await w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['abc', 'a'], options: {}, schedule })).toEqual({
    scores: [3, 1],
    tokens: 4,
    pairs: 2,
  });
  // Without a schedule (a part queued by an older API): interactive, the shared tenant.
  await w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['a'], options: {} });
  expect(scorer.calls.map((c) => c.schedule)).toEqual([
    { class: 'interactive', tenant: 'key-b', weight: 0.5 },
    { class: 'interactive', tenant: 'open', weight: 1 },
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

it('admits the head of the queue to a tenant slot by the tenant its schedule names, while that tenant holds fewer shards than the fixed slots', async () => {
  await storeJob('job_w7', ['x', 'yy', 'zzz', 'wwww'], false);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  class GatedScorer extends FakeScorer {
    override async score(...args: Parameters<FakeScorer['score']>) {
      await gate;
      return super.score(...args);
    }
  }
  let admit: ((shard: ShardJobData) => boolean) | undefined;
  const w = worker(new GatedScorer(), (_h, a) => {
    admit = a;
    return fakeConsumer();
  });
  await w.start();
  const shard = (n: number, tenant: string): ShardJobData => ({
    kind: 'shard',
    jobId: 'job_w7',
    n,
    model: 'enc',
    q: 1,
    idx: [n],
    schedule: jobSchedule(tenant, 'job_w7'),
  });
  // RERANK_WORKER_CONCURRENCY is 2: tenant a holds both fixed slots' worth of shards.
  const running = [w.handle(shard(0, 'a')), w.handle(shard(1, 'a'))];
  await new Promise((r) => setImmediate(r));
  expect([admit!(shard(0, 'a')), admit!(shard(0, 'b')), admit!({ ...shard(0, 'x'), schedule: undefined })]).toEqual([false, true, true]);
  release();
  await Promise.all(running);
  expect(admit!(shard(0, 'a'))).toBe(true);
  await w.stop();
});

it('a cancel published while a shard or a synchronous part is scored aborts its scoring call: the shard is skipped as cancelled, the part answers no scores', async () => {
  await storeJob('job_w9', ['x', 'yy', 'zzz'], false, 2);
  const cancels = new FakeCancelSignals();
  // A scorer that waits until its call is cancelled, as the engine does with pairs not yet on a device.
  class WaitingScorer extends FakeScorer {
    override async score(...args: Parameters<FakeScorer['score']>): Promise<PairScore[]> {
      await super.score(...args);
      const signal = args[3].signal as AbortSignal;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new ScoringCancelledError(signal.reason))));
    }
  }
  const scorer = new WaitingScorer();
  const w = worker(scorer, undefined, cancels);
  await w.start();
  try {
    const shard = w.handle({ kind: 'shard', jobId: 'job_w9', n: 0, model: 'enc', q: 0, idx: [0, 1], schedule: jobSchedule('o', 'job_w9') });
    const part = w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['a', 'bb'], options: {}, cancel: 'tok-1' });
    await new Promise((r) => setImmediate(r));
    // Another job's cancel and another request's leave them running.
    await cancels.publish({ kind: 'job', id: 'job_other' });
    await cancels.publish({ kind: 'sync', id: 'tok-other' });
    expect(scorer.calls.map((c) => (c.schedule.signal as AbortSignal).aborted)).toEqual([false, false]);
    await cancels.publish({ kind: 'job', id: 'job_w9' });
    await cancels.publish({ kind: 'sync', id: 'tok-1' });
    expect(await shard).toEqual({ skipped: true, reason: 'job cancelled' });
    expect(await part).toEqual({ scores: [], pairs: 0, cancelled: true });
  } finally {
    await w.stop();
  }
});

it('a synchronous part taken after its cancel arrived is not scored', async () => {
  const cancels = new FakeCancelSignals();
  const scorer = new FakeScorer();
  const w = worker(scorer, undefined, cancels);
  await w.start();
  try {
    await cancels.publish({ kind: 'sync', id: 'tok-2' });
    // The fake scorer scores whatever it gets: the call reaches it with its signal already aborted.
    const calls = scorer.calls.length;
    await w.handle({ kind: 'sync', model: 'enc', query: 'q', documents: ['a'], options: {}, cancel: 'tok-2' });
    expect((scorer.calls[calls].schedule.signal as AbortSignal).aborted).toBe(true);
  } finally {
    await w.stop();
  }
});
