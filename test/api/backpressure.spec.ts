/**
 * The API under Redis trouble, against a real redis-server: backpressure (503 overloaded with
 * Retry-After when Redis memory or the queued pairs pass their ceilings, nothing stored), a fast
 * 503 while Redis is down, and the infrastructure-error classifier and retry on real replies.
 */
import { Redis } from 'ioredis';
import { InfraRetryExhaustedError, isRedisInfraError, loadConfig, ConfigError, withInfraRetry } from '@rerank/jobs';
import { freePort } from '@rerank/harness';
import { parseInfoMemory } from '../../libs/jobs/src/store/redis-quota-store';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, removeTestModels } from '../support/model';
import { waitFor } from '../support/processes';
import { startRedis, type TestRedis } from '../support/redis-server';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(120000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('infrastructure errors of a real Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.client.config('SET', 'maxmemory', '0').catch(() => undefined);
    await redis.stop();
  });

  it('classifies OOM, READONLY, EXECABORT of OOM and a lost connection as infrastructure, WRONGTYPE not', async () => {
    const c = redis.client;
    await c.set('plain', 'x');
    const wrongType = await c.hset('plain', 'f', '1').catch((e: Error) => e);
    expect(String(wrongType)).toMatch(/WRONGTYPE/);
    expect(isRedisInfraError(wrongType)).toBe(false);

    await c.config('SET', 'maxmemory', '1');
    const oom = await c.set('k', '1').catch((e: Error) => e);
    const execAbort = await c
      .multi()
      .hset('h', 'f', '1')
      .expire('h', 10)
      .exec()
      .catch((e: Error) => e);
    await c.config('SET', 'maxmemory', '0');
    expect(String(oom)).toMatch(/^ReplyError: OOM command not allowed/);
    expect(isRedisInfraError(oom)).toBe(true);
    expect(String(execAbort)).toMatch(/EXECABORT/);
    expect(isRedisInfraError(execAbort)).toBe(true);

    // A replica of a master that is not there refuses writes with READONLY.
    const noMaster = await freePort();
    await c.replicaof('127.0.0.1', noMaster);
    const readonly = await c.set('k', '1').catch((e: Error) => e);
    await c.replicaof('NO', 'ONE');
    expect(String(readonly)).toMatch(/READONLY/);
    expect(isRedisInfraError(readonly)).toBe(true);

    const gone = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    const refused = await gone.connect().catch((e: Error) => e);
    gone.disconnect();
    expect(String(refused)).toMatch(/ECONNREFUSED|Connection is closed/);
    expect(isRedisInfraError(refused)).toBe(true);
    expect(isRedisInfraError(new Error('model "x" is not loaded'))).toBe(false);
  });

  it('withInfraRetry waits out a write refusal, gives up after the budget with the reason, and throws other errors at once', async () => {
    const c = redis.client;
    await c.config('SET', 'maxmemory', '1');
    setTimeout(() => void c.config('SET', 'maxmemory', '0'), 1200);
    let calls = 0;
    const ok = await withInfraRetry(() => (calls++, c.set('retried', 'yes')), { budgetMs: 30000, what: 'a test write' });
    expect(ok).toBe('OK');
    expect(calls).toBeGreaterThan(1);
    expect(await c.get('retried')).toBe('yes');

    await c.config('SET', 'maxmemory', '1');
    const t = Date.now();
    const e = await withInfraRetry(() => c.set('never', '1'), { budgetMs: 700, what: 'writing "never"' }).catch((x: Error) => x);
    await c.config('SET', 'maxmemory', '0');
    expect(e).toBeInstanceOf(InfraRetryExhaustedError);
    expect((e as Error).message).toMatch(
      /^Redis unavailable for \d+ ms while writing "never" \(gave up after RERANK_INFRA_RETRY_MS\): OOM command not allowed/,
    );
    expect(Date.now() - t).toBeGreaterThanOrEqual(700);

    let tries = 0;
    const wrong = await withInfraRetry(() => (tries++, c.hset('plain', 'f', '1')), { budgetMs: 30000, what: 'x' }).catch((x: Error) => x);
    expect(String(wrong)).toMatch(/WRONGTYPE/);
    expect(tries).toBe(1);
  });

  it('reads used_memory and maxmemory from INFO memory', async () => {
    await redis.client.config('SET', 'maxmemory', '123456789');
    const m = parseInfoMemory(await redis.client.info('memory'));
    await redis.client.config('SET', 'maxmemory', '0');
    expect(m.max).toBe(123456789);
    expect(m.used).toBeGreaterThan(100000);
  });
});

describe('configuration of the bounds', () => {
  const base = { RERANK_MODELS: 'tiny=/m' };
  it('has defaults and checks values', () => {
    const c = loadConfig(base);
    expect(c.redis.infraRetryMs).toBe(300000);
    expect(c.backpressure).toEqual({ maxQueuedPairs: 20000000, redisMemoryCeiling: 0.9 });
    expect(c.stack.redisMaxmemory).toBe('1gb');
    expect(c.redis.commandTimeoutMs).toBe(5000);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    expect(problems({ RERANK_REDIS_MEMORY_CEILING: '1.5' })).toEqual([
      'RERANK_REDIS_MEMORY_CEILING="1.5": expected a fraction above 0 and at most 1, e.g. 0.9 (default 0.9)',
    ]);
    expect(problems({ RERANK_REDIS_MEMORY_CEILING: '0.75' })).toEqual([]);
    expect(problems({ RERANK_MAX_QUEUED_PAIRS: '1000' })).toEqual([
      'RERANK_MAX_QUEUED_PAIRS=1000 is below RERANK_MAX_PAIRS=1000000: a job of the largest size could never be accepted; raise it (or 0 to turn the check off)',
    ]);
    expect(problems({ RERANK_MAX_QUEUED_PAIRS: '0' })).toEqual([]);
    expect(problems({ RERANK_REDIS_MAXMEMORY: 'lots' })[0]).toMatch(/^RERANK_REDIS_MAXMEMORY="lots": expected a size in Redis units/);
  });
});

describe('the API under pressure (no workers: jobs stay queued)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    const dir = await testEncoderDir();
    cluster = await Cluster.start({
      models: [{ name: 'tiny', path: dir }],
      // No workers: jobs queue up until the backpressure refuses them (the default, all, would refuse them first).
      env: {
        RERANK_MAX_PAIRS: '5000',
        RERANK_MAX_QUEUED_PAIRS: '5000',
        RERANK_REDIS_MEMORY_CEILING: '0.5',
        RERANK_REFUSE_UNSERVED: 'sync',
      },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    removeTestModels();
  });

  /** A cancelled job's documents are dropped when its aggregation runs: wait for it, so memory and keys hold still. */
  const gone = (id: string) =>
    waitFor(
      `job ${id} documents dropped`,
      async () => (!(await new JobInspector(cluster.redis.client).hasDocuments(id)) ? true : undefined),
      30000,
    );
  const job = (seed: number) => ({ model: 'tiny', query: 'harbor', documents: makeDocuments(3000, seed, 3, 8) });

  it('503 overloaded with Retry-After when the queued pairs would pass RERANK_MAX_QUEUED_PAIRS; nothing stored; accepted again once room', async () => {
    const first = await cluster.client.post('/v1/jobs', job(1));
    expect(first.status).toBe(202);
    const before = await cluster.footprint();
    const second = await cluster.client.post('/v1/jobs', job(2), { 'Idempotency-Key': 'second-job' });
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
    expect(second.body.error).toEqual({
      code: 'overloaded',
      message:
        "too much work queued: 3000 pairs of unfinished jobs plus this request's 3000 would pass 5000 (RERANK_MAX_QUEUED_PAIRS); nothing was stored, retry later",
      retry_after_seconds: 5,
      reason: 'queued_pairs',
    });
    expect(await cluster.footprint()).toEqual(before);

    expect((await cluster.client.del(`/v1/jobs/${first.body.id}`)).status).toBe(200);
    await gone(first.body.id);
    await sleep(1100); // the gauge is read at most once a second
    const again = await cluster.client.post('/v1/jobs', job(2), { 'Idempotency-Key': 'second-job' });
    expect(again.status).toBe(202);
    expect((await cluster.client.del(`/v1/jobs/${again.body.id}`)).status).toBe(200);
    await gone(again.body.id);
  });

  it('503 overloaded with Retry-After when Redis memory passes RERANK_REDIS_MEMORY_CEILING of maxmemory, for jobs and sync requests; nothing stored', async () => {
    const c = cluster.redis.client;
    const used = parseInfoMemory(await c.info('memory')).used;
    // Above the ceiling (0.5 here) but well below maxmemory: Redis still takes writes, the API refuses new work.
    await c.config('SET', 'maxmemory', String(Math.ceil(used * 1.5)));
    try {
      await sleep(1100);
      const before = await cluster.footprint();
      const r = await cluster.client.post('/v1/jobs', job(3));
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.body.error.code).toBe('overloaded');
      expect(r.body.error.reason).toBe('redis_memory');
      expect(r.body.error.message).toMatch(
        /^Redis memory is nearly full \(\d+ of \d+ bytes used, this request adds about \d+; the ceiling is 0.5 of maxmemory, RERANK_REDIS_MEMORY_CEILING\); nothing was stored, retry later$/,
      );
      const sync = await cluster.client.post('/v1/rerank', { model: 'tiny', query: 'q', documents: ['a', 'b'] });
      expect(sync.status).toBe(503);
      expect(sync.headers.get('retry-after')).toBe('5');
      expect(sync.body.error.code).toBe('overloaded');
      expect(await cluster.footprint()).toEqual(before);
    } finally {
      await c.config('SET', 'maxmemory', '0');
    }
    await sleep(1100);
    const ok = await cluster.client.post('/v1/jobs', job(3));
    expect(ok.status).toBe(202);
    expect((await cluster.client.del(`/v1/jobs/${ok.body.id}`)).status).toBe(200);
  });

  it('POST /v1/jobs answers 503 within 2 s while Redis is down, and works again once it is back', async () => {
    await cluster.redis.kill();
    await sleep(300);
    const requests: [string, unknown][] = [
      ['/v1/jobs', job(4)],
      ['/v1/rerank', { model: 'tiny', query: 'q', documents: ['a'] }],
    ];
    for (const [path, body] of requests) {
      const t = Date.now();
      const r = await cluster.client.post(path, body);
      const took = Date.now() - t;
      expect({ path, status: r.status, code: r.body.error.code, retryAfter: r.headers.get('retry-after') }).toEqual({
        path,
        status: 503,
        code: 'unavailable',
        retryAfter: '2',
      });
      expect(took).toBeLessThan(2000);
    }
    await cluster.redis.restart();
    const back = await waitFor(
      'POST /v1/jobs accepted again',
      async () => {
        const r = await cluster.client.post('/v1/jobs', job(5));
        return r.status === 202 ? r : undefined;
      },
      30000,
      200,
    );
    expect(back.body.status).toBe('queued');
  });
});
