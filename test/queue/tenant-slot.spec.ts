/**
 * The tenant slots' fetch on a real redis-server and real BullMQ queues (tenant-slot.ts): they ask
 * `admit` about the shard BullMQ hands out next, including one back from a stalled worker in the
 * plain wait list, and take it only when admitted.
 */
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { jobSchedule, type ShardJobData, tenantSlots } from '@rerank/jobs';
import { startRedis, type TestRedis } from '../support/redis-server';
import { waitFor } from '../support/processes';

jest.setTimeout(30000);

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

test('a shard in the wait list (back from a stalled worker) is the one asked about and taken, before the prioritized ones', async () => {
  const name = 'shards.slot-order';
  const queue = new Queue(name, { connection: redis.client, prefix: 'rerank:q' });
  // A queued job's shard (prioritized) and a shard a stalled worker left (plain wait list: no priority).
  const shard = (jobId: string, n: number, tenant: string): ShardJobData => ({
    kind: 'shard',
    jobId,
    n,
    model: 'm',
    q: 0,
    idx: [0],
    schedule: jobSchedule(tenant, jobId),
  });
  await queue.add('shard', shard('job_a', 0, 'tenant-a'), { jobId: 'job_a-s0', priority: 100 });
  await queue.add('shard', shard('job_b', 3, 'tenant-b'), { jobId: 'job_b-s3' });
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const worker = new Worker<ShardJobData, string>(name, async (job) => `scored ${job.id}`, {
    connection,
    prefix: 'rerank:q',
    autorun: false,
  });
  const asked: string[] = [];
  const errors: Error[] = [];
  const slots = tenantSlots(worker, 1, {
    full: () => true,
    // Asked with the shard as queued: its schedule names the tenant, no other read.
    admit: (data) => (asked.push(`${data.jobId}-s${data.n}`), data.schedule?.tenant === 'tenant-b'),
    lockDurationMs: 30000,
    onError: (e) => errors.push(e),
  });
  try {
    await waitFor('job_b-s3 completed', async () => ((await queue.getJobState('job_b-s3')) === 'completed' ? true : undefined), 10000, 20);
    expect(asked[0]).toBe('job_b-s3');
    expect((await queue.getJob('job_b-s3'))?.returnvalue).toBe('scored job_b-s3');
    // Then the prioritized shard is next; its tenant is not admitted, so it stays queued.
    await waitFor('job_a-s0 asked about', async () => (asked.includes('job_a-s0') ? true : undefined), 10000, 20);
    expect(await queue.getJobState('job_a-s0')).toBe('prioritized');
    expect(errors).toEqual([]);
  } finally {
    await slots.close();
    await queue.close();
    connection.disconnect();
  }
});
