/**
 * A tenant's listing (GET /v1/jobs) through the JobStore port, on the Redis adapter and on the unit
 * tier's fake: newest first with ties by id, cursor pages, status and time filters. Then Redis's
 * index: ids of expired jobs pruned while listing, the index bounded.
 */
import {
  decodeJobCursor,
  encodeJobCursor,
  type JobListing,
  type JobListQuery,
  type JobStore,
  RedisDocumentStore,
  redisJobStore,
} from '@rerank/jobs';
import { keys } from '../../libs/jobs/src/store/keys';
import { startRedis, type TestRedis } from '../support/redis-server';
import { storeOneDocumentJob } from '../support/jobs';
import { MemoryDocumentStore, MemoryJobStore } from '../unit/fakes';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function make(repo: JobStore, tenant: string, id: string, createdAt: number): Promise<void> {
  await storeOneDocumentJob(repo, id, tenant, createdAt);
  await repo.activate(id);
}

/** Every page of a listing, following the cursors. */
async function allPages(repo: JobListing, tenant: string, q: Omit<JobListQuery, 'cursor'>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: JobListQuery['cursor'];
  for (;;) {
    const page = await repo.listOwned(tenant, { ...q, cursor });
    pages.push(page.jobs.map((j) => j.record.id));
    if (!page.next) return pages;
    // The cursor travels as the opaque string the API hands out.
    cursor = decodeJobCursor(encodeJobCursor(page.next)) ?? undefined;
    expect(pages.length).toBeLessThan(50);
  }
}

describe.each([
  ['Redis', (): JobStore => redisJobStore(redis.client, { documents: new RedisDocumentStore(redis.client) })],
  ['in-memory fake', (): JobStore => new MemoryJobStore(new MemoryDocumentStore())],
])('listing through the JobStore port: %s', (_name, make_) => {
  it("lists a tenant's jobs newest first, ties by id, a page at a time, and never another tenant's", async () => {
    const repo = make_();
    // Three jobs share a creation time: the cursor must split them without losing or repeating one.
    await make(repo, 'o1', 'job_a', 1000);
    await make(repo, 'o1', 'job_c', 2000);
    await make(repo, 'o1', 'job_b', 2000);
    await make(repo, 'o1', 'job_d', 2000);
    await make(repo, 'o1', 'job_e', 3000);
    await make(repo, 'o2', 'job_x', 2500);
    const order = ['job_e', 'job_d', 'job_c', 'job_b', 'job_a'];
    expect(await allPages(repo, 'o1', { limit: 2 })).toEqual([order.slice(0, 2), order.slice(2, 4), order.slice(4)]);
    expect(await allPages(repo, 'o1', { limit: 1 })).toEqual(order.map((id) => [id]));
    expect(await allPages(repo, 'o1', { limit: 5 })).toEqual([order]);
    expect(await allPages(repo, 'o1', { limit: 100 })).toEqual([order]);
    expect(await allPages(repo, 'o2', { limit: 100 })).toEqual([['job_x']]);
    expect(await allPages(repo, 'nobody', { limit: 10 })).toEqual([[]]);

    const first = await repo.listOwned('o1', { limit: 1 });
    expect(first.jobs[0]).toMatchObject({
      record: { id: 'job_e', tenant: 'o1', status: 'queued', createdAt: 3000 },
      progress: { shardsDone: 0, pairsDone: 0 },
    });
    expect(first.next).toEqual({ createdAt: 3000, id: 'job_e' });
  });

  it('filters by status and by creation time (exclusive bounds), across pages', async () => {
    const repo = make_();
    for (let i = 0; i < 10; i++) await make(repo, 'f1', `job_f${i}`, 10000 + i * 10);
    for (const i of [1, 4, 5, 8]) expect(await repo.finish(`job_f${i}`, 'completed')).toBe(true);
    expect(await repo.finish('job_f6', 'failed', { code: 'x', message: 'boom' })).toBe(true);
    await repo.recordShard('job_f4', { n: 0, q: 0, pairs: 1, top: [] });

    expect(await allPages(repo, 'f1', { limit: 3, statuses: ['completed'] })).toEqual([['job_f8', 'job_f5', 'job_f4'], ['job_f1']]);
    expect(await allPages(repo, 'f1', { limit: 2, statuses: ['completed', 'failed'] })).toEqual([
      ['job_f8', 'job_f6'],
      ['job_f5', 'job_f4'],
      ['job_f1'],
    ]);
    expect(await allPages(repo, 'f1', { limit: 10, statuses: ['cancelled'] })).toEqual([[]]);
    expect(await allPages(repo, 'f1', { limit: 4, createdAfter: 10030 })).toEqual([
      ['job_f9', 'job_f8', 'job_f7', 'job_f6'],
      ['job_f5', 'job_f4'],
    ]);
    expect(await allPages(repo, 'f1', { limit: 4, createdBefore: 10030 })).toEqual([['job_f2', 'job_f1', 'job_f0']]);
    expect(await allPages(repo, 'f1', { limit: 2, createdAfter: 10010, createdBefore: 10070, statuses: ['queued'] })).toEqual([
      ['job_f3', 'job_f2'],
    ]);
    // A cursor past created_before (from a listing without it) is held to the bound.
    expect(
      (await repo.listOwned('f1', { limit: 10, createdBefore: 10020, cursor: { createdAt: 10090, id: 'job_f9' } })).jobs.map(
        (j) => j.record.id,
      ),
    ).toEqual(['job_f1', 'job_f0']);

    const page = await repo.listOwned('f1', { limit: 1, statuses: ['completed'], createdBefore: 10045 });
    expect(page.jobs[0]).toMatchObject({ record: { id: 'job_f4', status: 'completed' }, progress: { shardsDone: 1, pairsDone: 1 } });
    expect(page.next).toEqual({ createdAt: 10040, id: 'job_f4' });
  });
});

it('Redis: drops ids of expired or discarded jobs from the index while listing', async () => {
  const repo = redisJobStore(redis.client, { documents: new RedisDocumentStore(redis.client) });
  const index = async () => redis.client.zrevrange(keys.ownerJobs('e1'), 0, -1);
  for (let i = 0; i < 5; i++) await make(repo, 'e1', `job_e${i}`, 20000 + i);
  await repo.expire('job_e1', 1);
  await repo.expire('job_e3', 1);
  await repo.discard('job_e4', 'e1');
  expect(await index()).toEqual(['job_e3', 'job_e2', 'job_e1', 'job_e0']);
  // Redis expires the two job hashes for real.
  const deadline = Date.now() + 10000;
  while ((await redis.client.exists(keys.job('job_e1'), keys.job('job_e3'))) > 0) {
    expect(Date.now()).toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await allPages(repo, 'e1', { limit: 1 })).toEqual([['job_e2'], ['job_e0']]);
  expect(await index()).toEqual(['job_e2', 'job_e0']);
});

it('Redis: keeps the newest RERANK_JOB_LIST_MAX jobs per tenant in the index', async () => {
  const repo = redisJobStore(redis.client, { documents: new RedisDocumentStore(redis.client), tenantIndexMax: 3 });
  for (let i = 0; i < 6; i++) await make(repo, 'b1', `job_b${i}`, 30000 + i);
  expect(await redis.client.zcard(keys.ownerJobs('b1'))).toBe(3);
  expect(await allPages(repo, 'b1', { limit: 10 })).toEqual([['job_b5', 'job_b4', 'job_b3']]);
  // Older jobs are still readable by id.
  expect(await repo.get('job_b0')).toMatchObject({ id: 'job_b0', tenant: 'b1' });
});
