/**
 * The API's services in-process: JobsService and RerankService with the real repository, rate
 * limits and backpressure on a real redis-server, and the in-memory scoring queue; a job's shards
 * run through a ShardWorker (fake scorer) and the Aggregator, so create -> results runs whole.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { ApiError, JobRepository, type RerankConfig, type ShardResult, WorkersRegistry } from '@rerank/jobs';
import { Aggregator } from '../../apps/aggregator/src/aggregator';
import { BackpressureService } from '../../apps/api/src/backpressure';
import { JobsService } from '../../apps/api/src/jobs.service';
import { ModelsService } from '../../apps/api/src/models.service';
import { RateLimitService } from '../../apps/api/src/rate-limit.service';
import { RerankService } from '../../apps/api/src/rerank.service';
import { SyncScoring } from '../../apps/api/src/sync-scoring';
import { ShardWorker } from '../../apps/worker/src/shard-worker';
import { startRedis, type TestRedis } from '../support/redis-server';
import { aggregationTask, FakeScorer, FakeScoringQueue, FakeWebhookQueue, unitConfig } from './fakes';

let redis: TestRedis;
let config: RerankConfig;
let jobs: JobRepository;
let queue: FakeScoringQueue;
let scorer: FakeScorer;
let worker: ShardWorker;
let service: JobsService;
let rerank: RerankService;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const res = () => new ServerResponse(new IncomingMessage(new Socket()));

beforeAll(async () => {
  redis = await startRedis();
  // No worker heartbeats here (the worker runs in-process through the fake queue), so requests are not
  // refused for want of a live worker; that refusal is tested on real processes (test/jobs/placement.spec.ts).
  config = unitConfig(redis.url, {
    RERANK_SYNC_TIMEOUT_MS: '1000',
    RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
    RERANK_REFUSE_UNSERVED: 'none',
  });
  jobs = new JobRepository(redis.client);
  scorer = new FakeScorer();
  const registry = new WorkersRegistry(redis.client);
  worker = new ShardWorker(config, 'cpu', {
    jobs,
    registry,
    scorer,
    consume: () => ({ name: 's', isRunning: () => true, waitUntilReady: async () => undefined, close: async () => undefined }),
    log: silent,
  });
  queue = new FakeScoringQueue((data) => worker.handle(data));
  const models = new ModelsService(config, registry);
  const rateLimits = new RateLimitService(config, redis.client);
  const backpressure = new BackpressureService(config, redis.client);
  await redis.client.ping();
  service = new JobsService(config, jobs, queue, models, rateLimits, backpressure);
  rerank = new RerankService(config, new SyncScoring(config, queue, backpressure, models), models, rateLimits);
});
afterAll(async () => {
  await redis?.stop();
});

/** Runs every shard queued for a job through the worker, then the aggregation. */
async function runJob(id: string): Promise<void> {
  const queued = queue.jobs.get(id)!;
  const results = [];
  for (const shard of queued.shards) results.push(await worker.handle(shard));
  const aggregator = new Aggregator(config, {
    jobs,
    registry: new WorkersRegistry(redis.client),
    webhooks: new FakeWebhookQueue(),
    consume: () => [],
    log: silent,
  });
  await aggregator.aggregate(aggregationTask(id, results as ShardResult[]));
}

describe('JobsService', () => {
  it('accepts a job (stored, queued as shards), and serves its view and top-k once scored', async () => {
    const documents = ['tiny', 'a much longer document', 'medium doc', { id: 'x9', text: 'the longest document of them all' }];
    const created = await service.create(
      { model: 'enc', query: 'q', documents, top_k: 2, return_documents: true },
      'alice',
      undefined,
      'http://api',
      res(),
    );
    expect(created.status).toBe(202);
    const body = created.body as { id: string; status: string; counts: unknown; progress: { shards_total: number } };
    expect([body.status, body.counts]).toEqual(['queued', { queries: 1, documents: 4, pairs: 4 }]);
    const queued = queue.jobs.get(body.id)!;
    expect(queued.model).toBe('enc');
    expect(queued.shards.length).toBe(body.progress.shards_total);
    expect(queued.shards.flatMap((s) => s.idx).sort()).toEqual([0, 1, 2, 3]);
    expect(await jobs.ttl(body.id)).toBe(-1);

    await runJob(body.id);
    const view = (await service.get(body.id, 'alice', 'http://api')) as { status: string; progress: unknown };
    expect(view.status).toBe('completed');
    expect(view.progress).toMatchObject({ shards_done: queued.shards.length, pairs_done: 4, pairs_total: 4 });
    const results = (await service.results(body.id, 'alice', false, undefined, res())) as { results: { top_k: unknown[] }[] };
    expect(results.results[0].top_k).toEqual([
      { index: 3, id: 'x9', score: 32, document: { text: 'the longest document of them all' } },
      { index: 1, score: 22, document: { text: 'a much longer document' } },
    ]);
    // Another key's job looks like a missing one.
    await expect(service.get(body.id, 'bob', '')).rejects.toMatchObject({ status: 404 });
  });

  it('refuses bad input with the field named and stores nothing', async () => {
    const before = await jobs.jobIds();
    await expect(service.create({ model: 'enc', query: 'q', documents: [] }, 'alice', undefined, '', res())).rejects.toMatchObject({
      kind: 'invalid',
      field: 'documents',
    });
    await expect(service.create({ model: 'nope', query: 'q', documents: ['a'] }, 'alice', undefined, '', res())).rejects.toMatchObject({
      kind: 'invalid',
      field: 'model',
    });
    expect(await jobs.jobIds()).toEqual(before);
  });

  it('answers a repeated Idempotency-Key with the first job, and 409 for another body', async () => {
    const body = { model: 'enc', query: 'q', documents: ['a', 'b'] };
    const first = await service.create(body, 'alice', 'key-1', '', res());
    const again = await service.create(body, 'alice', 'key-1', '', res());
    expect(again.status).toBe(200);
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const other = await service.create({ ...body, top_k: 1 }, 'alice', 'key-1', '', res()).catch((e: ApiError) => e);
    expect(other).toMatchObject({ status: 409, code: 'idempotency_key_reused' });
  });

  it('cancels a queued job: status, pending shards removed, webhook queued; a second cancel is 409', async () => {
    const created = await service.create(
      { model: 'enc', query: 'q', documents: ['a', 'b'], webhook: { url: 'http://127.0.0.1:9/h' } },
      'alice',
      undefined,
      '',
      res(),
    );
    const id = (created.body as { id: string }).id;
    const view = (await service.cancel(id, 'alice', '')) as { status: string };
    expect(view.status).toBe('cancelled');
    expect(queue.cancelled).toContain(id);
    expect(queue.queued).toContainEqual({ jobId: id, event: 'cancelled' });
    expect(await jobs.ttl(id)).toBeGreaterThan(0);
    await expect(service.cancel(id, 'alice', '')).rejects.toMatchObject({ status: 409, code: 'job_finished' });
    // Its shards, taken anyway, are skipped.
    expect(await worker.handle(queue.jobs.get(id)!.shards[0])).toEqual({ skipped: true, reason: 'job cancelled' });
  });

  it('a queue that cannot take the job: 503, and the job is not left behind', async () => {
    const before = await jobs.jobIds();
    queue.failAdd = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    try {
      await expect(service.create({ model: 'enc', query: 'q', documents: ['a'] }, 'alice', undefined, '', res())).rejects.toMatchObject({
        status: 503,
        code: 'queue_unavailable',
      });
    } finally {
      queue.failAdd = null;
    }
    expect(await jobs.jobIds()).toEqual(before);
  });
});

describe('RerankService', () => {
  it('scores through the queue and ranks (Cohere v2 shape), the request removed after', async () => {
    const out = await rerank.rerank(
      { model: 'enc', query: 'q', documents: ['bb', 'a', 'cccc'], top_n: 2, return_documents: true },
      2,
      'alice',
      res(),
    );
    expect(out.results).toEqual([
      { index: 2, relevance_score: 4, document: { text: 'cccc' } },
      { index: 0, relevance_score: 2, document: { text: 'bb' } },
    ]);
    expect(out.usage).toEqual({ documents: 3, search_units: 1, total_tokens: 6 });
    expect(queue.sync.size).toBe(0);
  });

  it('a failed scoring is 500 with the reason; no worker in time is 504 and the request is taken back', async () => {
    await expect(rerank.rerank({ model: 'enc', query: 'q', documents: ['a'], max_length: -1 }, 1, 'alice', res())).rejects.toMatchObject({
      kind: 'invalid',
      field: 'max_length',
    });
    const removedBefore = queue.removed.length;
    queue.hold = true;
    try {
      await expect(rerank.rerank({ model: 'enc', query: 'q', documents: ['a'] }, 1, 'alice', res())).rejects.toMatchObject({
        status: 504,
        code: 'timeout',
      });
    } finally {
      queue.hold = false;
    }
    expect(queue.removed.length).toBe(removedBefore + 1);
    const failingQueue = new FakeScoringQueue(async () => Promise.reject(new Error('device lost')));
    const models = new ModelsService(config, new WorkersRegistry(redis.client));
    const failing = new RerankService(
      config,
      new SyncScoring(config, failingQueue, new BackpressureService(config, redis.client), models),
      models,
      new RateLimitService(config, redis.client),
    );
    await expect(failing.rerank({ model: 'enc', query: 'q', documents: ['a'] }, 1, 'alice', res())).rejects.toMatchObject({
      status: 500,
      code: 'scoring_failed',
      message: 'scoring failed: device lost',
    });
  });
});
