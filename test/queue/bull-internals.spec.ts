/**
 * The contract of what the queue adapters use of BullMQ beyond its documented API
 * (libs/jobs/src/queue/bull-internals.ts), on a real redis-server with the installed BullMQ. A
 * failure here after a BullMQ upgrade means the upgrade changed one of these internals: update
 * bull-internals.ts and the fair-tag scripts (libs/jobs/src/store/lua/fair-*.lua) before shipping it.
 */
import { type Job, Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { nextJobId, prioritizedKeys, processFetchedJob } from '../../libs/jobs/src/queue/bull-internals';
import { runScript } from '../../libs/jobs/src/store/scripts';
import { startRedis, type TestRedis } from '../support/redis-server';

const P = 2 ** 32;
const PREFIX = 'rerank:q';

let redis: TestRedis;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await redis?.stop();
});

function queue(name: string): Queue {
  const q = new Queue(name, { connection: redis.client, prefix: PREFIX });
  closers.push(() => q.close());
  return q;
}

function worker<R>(name: string, processor: (job: Job) => Promise<R>): Worker<unknown, R> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const w = new Worker<unknown, R>(name, processor, { connection, prefix: PREFIX, autorun: false });
  closers.push(async () => {
    await w.close();
    connection.disconnect();
  });
  return w;
}

test("a prioritized job's score is priority × 2^32 + the queue's arrival counter, its hash holds the priority; the keys the scripts take", async () => {
  const q = queue('internals.layout');
  await q.add('j', {}, { jobId: 'a', priority: 7 });
  await q.add('j', {}, { jobId: 'b', priority: 7 });
  await q.add('j', {}, { jobId: 'c', priority: 3 });
  const keys = prioritizedKeys(q);
  expect(keys).toEqual({
    prioritized: `${PREFIX}:internals.layout:prioritized`,
    counter: `${PREFIX}:internals.layout:pc`,
    jobPrefix: `${PREFIX}:internals.layout:`,
  });
  const scores = await redis.client.zrange(keys.prioritized, 0, -1, 'WITHSCORES');
  const counter = Number(await redis.client.get(keys.counter));
  expect(counter).toBe(3);
  // Lowest score first: c (priority 3), then a and b (priority 7) in arrival order.
  expect(scores).toEqual(['c', String(3 * P + 3), 'a', String(7 * P + 1), 'b', String(7 * P + 2)]);
  expect(await redis.client.hget(`${keys.jobPrefix}a`, 'priority')).toBe('7');
});

test("the fair re-tagging script moves a waiting job as BullMQ's own changePriority does", async () => {
  const ours = queue('internals.retag-ours');
  const theirs = queue('internals.retag-theirs');
  for (const q of [ours, theirs]) {
    await q.add('j', {}, { jobId: 'x', priority: 50 });
    await q.add('j', {}, { jobId: 'y', priority: 60 });
  }
  await (await theirs.getJob('y'))!.changePriority({ priority: 10 });
  const k = prioritizedKeys(ours);
  // fair-retag-3.lua: KEYS the tenant's hash, the prioritized set, the counter; ARGV job prefix, TTL, finish, 1 move (y → 10).
  await runScript(redis.client, 'fair-retag', ['rerank:fair:internals:T', k.prioritized, k.counter], [k.jobPrefix, 60, 11, 1, 'y', 10]);
  for (const q of [ours, theirs]) {
    const kq = prioritizedKeys(q);
    expect(await redis.client.zrange(kq.prioritized, 0, -1, 'WITHSCORES')).toEqual(['y', String(10 * P + 3), 'x', String(50 * P + 1)]);
    expect(await redis.client.hget(`${kq.jobPrefix}y`, 'priority')).toBe('10');
    expect((await q.getJob('y'))!.priority).toBe(10);
  }
  // A worker then takes y first, on either queue.
  const w = worker('internals.retag-ours', async () => 'done');
  const taken = await w.getNextJob('token-retag', { block: false });
  expect(taken?.id).toBe('y');
});

test('a worker takes the wait list (a stalled job put back) before the prioritized set, and nextJobId names that job', async () => {
  const q = queue('internals.order');
  await q.add('j', {}, { jobId: 'prio', priority: 1 });
  await q.add('j', {}, { jobId: 'plain' });
  const w = worker('internals.order', async () => 'done');
  expect(await nextJobId(w)).toBe('plain');
  expect((await w.getNextJob('token-1', { block: false }))?.id).toBe('plain');
  expect(await nextJobId(w)).toBe('prio');
  expect((await w.getNextJob('token-2', { block: false }))?.id).toBe('prio');
  expect(await nextJobId(w)).toBeUndefined();
});

test("processJob runs a fetched job's processor and records its return value, or its failure with the attempt counted", async () => {
  const q = queue('internals.process');
  await q.add('ok', { n: 2 }, { jobId: 'ok' });
  await q.add('bad', { n: 3 }, { jobId: 'bad', attempts: 2 });
  const w = worker<number>('internals.process', async (job) => {
    if (job.name === 'bad') throw new Error('no good');
    return (job.data as { n: number }).n * 10;
  });
  const first = (await w.getNextJob('token-ok', { block: false }))!;
  await processFetchedJob(w, first, 'token-ok');
  expect([await q.getJobState('ok'), (await q.getJob('ok'))?.returnvalue]).toEqual(['completed', 20]);
  const second = (await w.getNextJob('token-bad', { block: false }))!;
  await processFetchedJob(w, second, 'token-bad');
  const failed = await q.getJob('bad');
  // One attempt of two used: back in the queue (delayed by no backoff: waiting), the reason kept.
  expect([failed?.attemptsMade, failed?.failedReason, await q.getJobState('bad')]).toEqual([1, 'no good', 'waiting']);
});
