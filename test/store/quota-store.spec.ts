/**
 * The QuotaStore port's contract on the Redis adapter (a real redis-server) and on the unit tier's
 * fake: per-minute budgets, a tenant's active jobs (ended ones no longer count), pending pairs of
 * unfinished jobs; then Redis's memory reading.
 */
import { type JobStore, type QuotaStore, RedisDocumentStore, redisJobStore, RedisQuotaStore } from '@rerank/jobs';
import { startRedis, type TestRedis } from '../support/redis-server';
import { storeOneDocumentJob } from '../support/jobs';
import { MemoryDocumentStore, MemoryJobStore, MemoryQuotaStore } from '../unit/fakes';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const BUDGETS = { requestsPerMinute: 3, pairsPerMinute: 0 };

const job = (jobs: JobStore, id: string) => storeOneDocumentJob(jobs, id, 't');

describe.each([
  [
    'Redis',
    (): { quotas: QuotaStore; jobs: JobStore } => ({
      quotas: new RedisQuotaStore(redis.client, BUDGETS),
      jobs: redisJobStore(redis.client, { documents: new RedisDocumentStore(redis.client) }),
    }),
  ],
  [
    'in-memory fake',
    (): { quotas: QuotaStore; jobs: JobStore } => {
      const jobs = new MemoryJobStore(new MemoryDocumentStore());
      return { quotas: new MemoryQuotaStore({ requests: BUDGETS.requestsPerMinute, pairs: BUDGETS.pairsPerMinute }, jobs), jobs };
    },
  ],
])('QuotaStore contract: %s', (_name, make) => {
  let quotas: QuotaStore;
  let jobs: JobStore;
  beforeAll(() => {
    ({ quotas, jobs } = make());
  });

  it('takes from a per-minute budget until it is spent; a budget of 0 is no budget', async () => {
    const takes = [];
    for (let i = 0; i < 4; i++) takes.push(await quotas.take('requests', 'tenant-a', 1));
    expect(takes.map((t) => [t.allowed, t.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(takes[3].msBeforeReset).toBeGreaterThan(0);
    expect(takes[3].msBeforeReset).toBeLessThanOrEqual(60000);
    // Another tenant has its own budget; a refused take counts too (the window stays spent until it resets).
    expect(await quotas.take('requests', 'tenant-b', 2)).toMatchObject({ allowed: true, remaining: 1 });
    expect(await quotas.take('requests', 'tenant-b', 2)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await quotas.take('requests', 'tenant-b', 1)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await quotas.take('pairs', 'tenant-a', 1_000_000)).toEqual({ allowed: true, remaining: Infinity, msBeforeReset: 0 });
  });

  it("counts a tenant's active jobs up to the most allowed; ended and released ones no longer count", async () => {
    for (const id of ['job_q1', 'job_q2', 'job_q3']) await job(jobs, id);
    expect(await quotas.claimActiveJob('t', 'job_q1', 2)).toBeNull();
    expect(await quotas.claimActiveJob('t', 'job_q2', 2)).toBeNull();
    expect(await quotas.claimActiveJob('t', 'job_q3', 2)).toBe(2);
    expect(await jobs.finish('job_q1', 'completed')).toBe(true);
    expect(await quotas.claimActiveJob('t', 'job_q3', 2)).toBeNull();
    await quotas.releaseActiveJob('t', 'job_q3');
    expect(await quotas.claimActiveJob('other', 'job_q3', 1)).toBeNull();
    expect(await quotas.claimActiveJob('t', 'job_q4', 2)).toBeNull();
    // job_q4 has no record: it counts until a claim finds it gone.
    expect(await quotas.claimActiveJob('t', 'job_q5', 2)).toBeNull();
  });

  it('sums the pairs of jobs not yet ended, and forgets the ended and the gone', async () => {
    for (const id of ['job_p1', 'job_p2']) await job(jobs, id);
    await quotas.trackPendingPairs('job_p1', 100);
    await quotas.trackPendingPairs('job_p2', 20);
    await quotas.trackPendingPairs('job_p_gone', 7);
    expect(await quotas.pendingPairs()).toBe(120);
    await jobs.finish('job_p2', 'cancelled');
    expect(await quotas.pendingPairs()).toBe(100);
  });
});

it("Redis: the store's memory is INFO memory's used_memory against maxmemory", async () => {
  await redis.client.config('SET', 'maxmemory', '200mb');
  try {
    const m = await new RedisQuotaStore(redis.client, BUDGETS).memory();
    expect(m.max).toBe(200 * 1024 * 1024);
    expect(m.used).toBeGreaterThan(100_000);
    expect(m.used).toBeLessThan(m.max);
  } finally {
    await redis.client.config('SET', 'maxmemory', '0');
  }
});
