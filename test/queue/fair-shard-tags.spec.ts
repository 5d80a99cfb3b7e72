/**
 * Fair shard tags (issue 13): the pure tagger with exact values, then the Redis side on a real
 * redis-server with real BullMQ queues (tenant sets, re-tagging, shards taken meanwhile, two API
 * replicas adding jobs for one tenant at once, a tenant's bounded credit when it comes back).
 */
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import {
  COST_UNIT_CHARS,
  type FairShard,
  FairShardTags,
  jobSchedule,
  MAX_BULL_PRIORITY,
  priorityWeight,
  creditUnits,
  newcomerStart,
  parseShardJobId,
  SHARD_PRIORITY,
  type ShardPlan,
  shardJobId,
  tagAt,
  tenantTags,
  virtualTime,
} from '@rerank/jobs';
import { keys } from '../../libs/jobs/src/store/keys';
import { startRedis, type TestRedis } from '../support/redis-server';

const U = COST_UNIT_CHARS;
/** A credit of 64 units (262,144 characters: a model whose devices score 65,536 characters a second, over 4 s). */
const CREDIT = 64;

/** A job's shards for the tagger: `costs[n]` characters each. */
function shardsOf(job: string, costs: number[], factor = 1, queuedAt = 0): FairShard[] {
  return costs.map((cost, n) => ({ id: shardJobId(job, n), job, n, cost, factor, queuedAt }));
}

const order = (tags: { id: string; tag: number }[]) => tags.map((t) => `${t.id}@${t.tag}`);

describe('tenantTags (pure)', () => {
  it("a job's cost factor is 1 / its weight, 1 + priority clamped to 0..9; the virtual time is the queue's head, SHARD_PRIORITY on an empty queue", () => {
    expect([0, 1, 3, 9, 12, -1, 2.7].map((p) => 1 / priorityWeight(p))).toEqual([1, 2, 4, 10, 10, 1, 3]);
    expect([SHARD_PRIORITY, creditUnits(64 * U), creditUnits(64 * U - 1), creditUnits(0)]).toEqual([100, 64, 63, 0]);
    expect([virtualTime(null), virtualTime(5), virtualTime(370)]).toEqual([100, 5, 370]);
  });

  it('a shard id names its job and number; other ids are not shards', () => {
    expect(parseShardJobId(shardJobId('job_a-sb', 12))).toEqual({ jobId: 'job_a-sb', n: 12 });
    expect(['job_a', 'job_a-s', 'job_a-sx', '-s1', 'job_a-s-1', '~finish'].map(parseShardJobId)).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it("a tenant without waiting shards starts at its previous finish, kept within the credit of the queue's head either way", () => {
    // Empty queue: SHARD_PRIORITY, whatever its finish.
    expect([newcomerStart(null, null, CREDIT), newcomerStart(null, 5000, CREDIT)]).toEqual([100, 100]);
    // No finish recorded: the full credit ahead of the head (BullMQ's lowest priority, 1, bounds it).
    expect([newcomerStart(500, null, CREDIT), newcomerStart(50, null, CREDIT)]).toEqual([436, 1]);
    // No credit (no worker has reported its throughput yet): at the head, behind the shards that tie with it.
    expect([newcomerStart(500, null, 0), newcomerStart(500, 300, 0), newcomerStart(500, 900, 0)]).toEqual([500, 500, 500]);
    // A finish near the head stands; one far ahead of it (it has been idle) gives only the credit;
    // one far behind it (left from an earlier busy period) holds it back only the credit.
    expect([
      newcomerStart(500, 480, CREDIT),
      newcomerStart(500, 530, CREDIT),
      newcomerStart(500, 300, CREDIT),
      newcomerStart(500, 900, CREDIT),
    ]).toEqual([480, 530, 436, 564]);
  });

  it('one job: its shards advance the sequence by their cost in units of COST_UNIT_CHARS, the sum taken exactly', () => {
    expect(order(tenantTags(shardsOf('a', [U, U, U]), 10))).toEqual(['a-s0@10', 'a-s1@11', 'a-s2@12']);
    // 1.5 units each: floor(0), floor(1.5), floor(3), floor(4.5) — no rounding carried along.
    expect(order(tenantTags(shardsOf('a', [1.5 * U, 1.5 * U, 1.5 * U, 1.5 * U]), 10))).toEqual([
      'a-s0@10',
      'a-s1@11',
      'a-s2@13',
      'a-s3@14',
    ]);
  });

  it('two tenants from the same virtual time progress by cost: a small job of short shards is not held behind a big job of long ones', () => {
    // The case: the big job's shards ~45,000 characters, the small job's ~8,000.
    const a = tenantTags(shardsOf('big', [45000, 45000, 45000]), 40);
    const b = tenantTags(shardsOf('small', [8000, 8000, 8000, 8000, 8000, 8000, 8000]), 40);
    expect(order(a)).toEqual(['big-s0@40', 'big-s1@50', 'big-s2@61']);
    expect(order(b)).toEqual(['small-s0@40', 'small-s1@41', 'small-s2@43', 'small-s3@45', 'small-s4@47', 'small-s5@49', 'small-s6@51']);
    // So the queue runs big 0, small 0..5, big 1, small 6, big 2: the big job still gets its share.
    const merged = [...a, ...b].sort((x, y) => x.tag - y.tag || (x.id < y.id ? -1 : 1)).map((t) => t.id);
    expect(merged).toEqual([
      'big-s0',
      'small-s0',
      'small-s1',
      'small-s2',
      'small-s3',
      'small-s4',
      'small-s5',
      'big-s1',
      'small-s6',
      'big-s2',
    ]);
  });

  it("a tenant's two jobs alternate by cost (ties: the older job), whatever the input order", () => {
    const shards = [...shardsOf('a2', [U, U], 1, 2000), ...shardsOf('a1', [U, U, U], 1, 1000)].reverse();
    expect(order(tenantTags(shards, 10))).toEqual(['a1-s0@10', 'a2-s0@11', 'a1-s1@12', 'a2-s1@13', 'a1-s2@14']);
    // By cost, not by shard: a2's shards are half as long, so two of them per shard of a1 (the job
    // whose next shard ends first on its own clock goes first: a2's half shard before a1's whole one).
    const halves = [...shardsOf('a1', [U, U], 1, 1000), ...shardsOf('a2', [U / 2, U / 2, U / 2, U / 2], 1, 2000)];
    expect(order(tenantTags(halves, 10))).toEqual(['a2-s0@10', 'a1-s0@10', 'a2-s1@11', 'a2-s2@12', 'a1-s1@12', 'a2-s3@13']);
  });

  it("the job's priority weighs it inside its tenant: priority 1 (factor 2) gets half the work of priority 0", () => {
    const shards = [...shardsOf('a1', [U, U, U, U], 1 / priorityWeight(0), 1), ...shardsOf('a2', [U, U, U, U], 1 / priorityWeight(1), 2)];
    expect(order(tenantTags(shards, 10))).toEqual([
      'a1-s0@10',
      'a1-s1@11',
      'a2-s0@12',
      'a1-s2@13',
      'a1-s3@14',
      'a2-s1@15',
      'a2-s2@16',
      'a2-s3@17',
    ]);
  });

  it('re-tagging: a waiting job and a new one of the same tenant interleave from the tenant’s start', () => {
    // a1's shards 3..5 wait (0..2 were taken); a2 arrives with 2 shards. The tenant's sequence
    // starts where it stood (its first waiting tag), a2's shards (twice as long) interleave with a1's.
    const waiting = shardsOf('a1', [U, U, U, U, U, U], 1, 1000).slice(3);
    const fresh = shardsOf('a2', [2 * U, 2 * U], 1, 5000);
    expect(order(tenantTags([...fresh, ...waiting], 25))).toEqual(['a1-s3@25', 'a1-s4@26', 'a2-s0@27', 'a1-s5@29', 'a2-s1@30']);
  });

  it('saturates at BullMQ’s largest priority instead of failing', () => {
    expect(order(tenantTags(shardsOf('a', [U, U, U]), MAX_BULL_PRIORITY - 1))).toEqual([
      `a-s0@${MAX_BULL_PRIORITY - 1}`,
      `a-s1@${MAX_BULL_PRIORITY}`,
      `a-s2@${MAX_BULL_PRIORITY}`,
    ]);
    expect(tagAt(MAX_BULL_PRIORITY, 10 * U)).toBe(MAX_BULL_PRIORITY);
  });
});

describe('FairShardTags on Redis and BullMQ', () => {
  let redis: TestRedis;
  const queues: Queue[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  function queue(name: string): Queue {
    const q = new Queue(name, { connection: redis.client, prefix: 'rerank:q' });
    queues.push(q);
    return q;
  }

  const plans = (chars: number[]): ShardPlan[] => chars.map((c) => ({ q: 0, idx: [0], chars: c }));

  /** Adds a job's shards straight to the queue with the priorities given (as the flow does). */
  const addTo = (q: Queue, jobId: string) => async (priorities: number[]) => {
    for (const [n, priority] of priorities.entries()) await q.add('shard', { jobId, n }, { jobId: shardJobId(jobId, n), priority });
  };

  /** The queue's waiting shards in the order BullMQ hands them out, with their priorities. */
  async function waiting(q: Queue): Promise<string[]> {
    const jobs = await q.getJobs(['prioritized'], 0, -1, true);
    return jobs.map((j) => `${j.id}@${j.priority}`);
  }

  it("tags a new tenant's job from the virtual time now and re-tags a tenant's waiting shards when it adds a job", async () => {
    const q = queue('shards.fair1');
    const fair = new FairShardTags(redis.client, 5000);
    await fair.addJob(q, { jobId: 'a1', schedule: jobSchedule('A', 'a1'), shards: plans([U, U, U]) }, CREDIT * U, addTo(q, 'a1'));
    expect(await waiting(q)).toEqual(['a1-s0@100', 'a1-s1@101', 'a1-s2@102']);
    // B comes with nothing recorded: it starts the full credit (64 units) ahead of the head.
    await fair.addJob(q, { jobId: 'b1', schedule: jobSchedule('B', 'b1'), shards: plans([U, U]) }, CREDIT * U, addTo(q, 'b1'));
    expect(await waiting(q)).toEqual(['b1-s0@36', 'b1-s1@37', 'a1-s0@100', 'a1-s1@101', 'a1-s2@102']);
    // A's second job: A's waiting shards are tagged again, the new job's interleave with them
    // (not queued behind a1), B keeps its place.
    await fair.addJob(q, { jobId: 'a2', schedule: jobSchedule('A', 'a2'), shards: plans([U, U]) }, CREDIT * U, addTo(q, 'a2'));
    expect(await waiting(q)).toEqual(['b1-s0@36', 'b1-s1@37', 'a1-s0@100', 'a2-s0@101', 'a1-s1@102', 'a2-s1@103', 'a1-s2@104']);
    // Each tenant's hash: its waiting shards and `~finish`, the tag after its sequence.
    expect((await redis.client.hkeys(keys.fairShards(q.name, 'A'))).sort()).toEqual([
      'a1-s0',
      'a1-s1',
      'a1-s2',
      'a2-s0',
      'a2-s1',
      '~finish',
    ]);
    expect(await redis.client.hget(keys.fairShards(q.name, 'A'), 'a2-s1')).toMatch(new RegExp(`^${U} 1 \\d+$`));
    expect([
      await redis.client.hget(keys.fairShards(q.name, 'A'), '~finish'),
      await redis.client.hget(keys.fairShards(q.name, 'B'), '~finish'),
    ]).toEqual(['105', '38']);
    expect(await redis.client.exists(keys.fairLock(q.name, 'A'))).toBe(0);
  });

  it('skips and forgets a shard taken while re-tagging; shards gone before are pruned from the tenant set', async () => {
    const q = queue('shards.fair2');
    const fair = new FairShardTags(redis.client, 5000);
    await fair.addJob(q, { jobId: 'c1', schedule: jobSchedule('C', 'c1'), shards: plans([U, U, U, U]) }, CREDIT * U, addTo(q, 'c1'));
    // A worker took c1-s0 before the next add (gone from the prioritized set).
    await q.remove('c1-s0');
    await fair.addJob(q, { jobId: 'c2', schedule: jobSchedule('C', 'c2'), shards: plans([U]) }, CREDIT * U, async (priorities) => {
      // ... and c1-s2 while the re-tagging ran: it is not put back.
      await q.remove('c1-s2');
      await addTo(q, 'c2')(priorities);
    });
    // Tenant C's sequence starts at its first waiting tag (101): c1-s1, c2-s0, c1-s2 (skipped), c1-s3.
    expect(await waiting(q)).toEqual(['c1-s1@101', 'c2-s0@102', 'c1-s3@104']);
    expect((await redis.client.hkeys(keys.fairShards(q.name, 'C'))).sort()).toEqual(['c1-s1', 'c1-s3', 'c2-s0', '~finish']);
  });

  it("two API replicas adding jobs for one tenant at once tag one after the other (the tenant's lock): the jobs interleave, no tag twice", async () => {
    const q = queue('shards.fair3');
    const replicas = [0, 1].map(() => {
      const c = new Redis(redis.url);
      clients.push(c);
      return new FairShardTags(c, 5000);
    });
    const slowAdd = (jobId: string) => async (priorities: number[]) => {
      await new Promise((r) => setTimeout(r, 300));
      await addTo(q, jobId)(priorities);
    };
    await Promise.all([
      replicas[0].addJob(q, { jobId: 'd1', schedule: jobSchedule('D', 'd1'), shards: plans([U, U]) }, CREDIT * U, slowAdd('d1')),
      replicas[1].addJob(q, { jobId: 'd2', schedule: jobSchedule('D', 'd2'), shards: plans([U, U]) }, CREDIT * U, slowAdd('d2')),
    ]);
    const got = await waiting(q);
    // Whichever came first, the second saw its shards and interleaved with them.
    const first = got[0].slice(0, 2);
    const second = first === 'd1' ? 'd2' : 'd1';
    expect(got).toEqual([`${first}-s0@100`, `${second}-s0@101`, `${first}-s1@102`, `${second}-s1@103`]);
  });

  it('a tenant back from idle goes ahead of the head by the credit at most; a stream of its jobs cannot keep jumping: its finish advances', async () => {
    const q = queue('shards.fair4');
    const fair = new FairShardTags(redis.client, 5000);
    // Tenant E's big job: shards of 16 units from 100.
    await fair.addJob(
      q,
      { jobId: 'e1', schedule: jobSchedule('E', 'e1'), shards: plans([16 * U, 16 * U, 16 * U]) },
      CREDIT * U,
      addTo(q, 'e1'),
    );
    // Tenant F sends jobs of one 32-unit shard, each taken by a worker before the next arrives.
    const firstTags: number[] = [];
    for (const job of ['f1', 'f2', 'f3', 'f4']) {
      await fair.addJob(q, { jobId: job, schedule: jobSchedule('F', job), shards: plans([32 * U]) }, CREDIT * U, addTo(q, job));
      const mine = (await waiting(q)).find((w) => w.startsWith(`${job}-`)) as string;
      firstTags.push(Number(mine.split('@')[1]));
      await q.remove(shardJobId(job, 0));
    }
    // f1 starts the full credit ahead of e1's head (100 - 64); then F's finish carries on: f3 ties
    // with the head (and queues behind it, BullMQ keeping arrival order), f4 comes after it.
    expect(firstTags).toEqual([36, 68, 100, 132]);
    // A finish left from an earlier busy period holds a tenant back by the credit at most.
    await redis.client.hset(keys.fairShards(q.name, 'G'), '~finish', '5000');
    await fair.addJob(q, { jobId: 'g1', schedule: jobSchedule('G', 'g1'), shards: plans([U]) }, CREDIT * U, addTo(q, 'g1'));
    expect(await waiting(q)).toEqual(['e1-s0@100', 'e1-s1@116', 'e1-s2@132', 'g1-s0@164']);
  });
});
