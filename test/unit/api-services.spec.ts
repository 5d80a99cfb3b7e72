/**
 * The API's services in-process on fakes of their ports (job, document and quota stores, workers
 * registry, scoring queue): no Redis. JobsService and RerankService with the real rate limits and
 * backpressure over the fake stores; a job's shards run through a ShardWorker (fake scorer) and the
 * Aggregator, so create -> results runs whole.
 */
import { createHash } from 'node:crypto';
import { TENANT_CREDIT_MS } from '@rerank/engine';
import { ApiError, ASSUMED_CHARS_PER_SECOND, type RerankConfig, type ShardResult } from '@rerank/jobs';
import { Aggregator } from '../../apps/aggregator/src/aggregator';
import { BackpressureService } from '../../apps/api/src/backpressure';
import { JobsService, type ResultsAnswer } from '../../apps/api/src/jobs.service';
import { ModelsService } from '../../apps/api/src/models.service';
import { RateLimitService } from '../../apps/api/src/rate-limit.service';
import { RerankService } from '../../apps/api/src/rerank.service';
import { SyncScoring } from '../../apps/api/src/sync-scoring';
import { ShardWorker } from '../../apps/worker/src/shard-worker';
import { storeOneDocumentJob } from '../support/jobs';
import {
  aggregationTask,
  FakeCancelSignals,
  FakeScorer,
  FakeScoringQueue,
  FakeWebhookQueue,
  MemoryDocumentStore,
  MemoryJobStore,
  MemoryQuotaStore,
  MemoryWorkersRegistry,
  unitConfig,
} from './fakes';

// No worker heartbeats here (the worker runs in-process through the fake queue), so requests are not
// refused for want of a live worker; that refusal is tested on real processes (test/jobs/placement.spec.ts).
const config: RerankConfig = unitConfig({
  RERANK_SYNC_TIMEOUT_MS: '1000',
  RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
  RERANK_REFUSE_UNSERVED: 'none',
});
const documentStore = new MemoryDocumentStore();
const jobs = new MemoryJobStore(documentStore);
const quotas = new MemoryQuotaStore({ requests: 0, pairs: 0 }, jobs);
const registry = new MemoryWorkersRegistry();
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const worker = new ShardWorker(config, 'cpu', {
  jobs,
  registry,
  scorer: new FakeScorer(),
  consume: () => ({ name: 's', isRunning: () => true, waitUntilReady: async () => undefined, close: async () => undefined }),
  log: silent,
});
const queue = new FakeScoringQueue((data) => worker.handle(data));
const models = new ModelsService(config, registry);
const rateLimits = new RateLimitService(config, quotas);
const backpressure = new BackpressureService(config, quotas, jobs);
const cancels = new FakeCancelSignals();
const service = new JobsService(config, jobs, documentStore, queue, models, rateLimits, backpressure, cancels);
const rerank = new RerankService(config, new SyncScoring(config, queue, backpressure, models, cancels), models, rateLimits);

/** Runs every shard queued for a job through the worker, then the aggregation. */
async function runJob(id: string): Promise<void> {
  const queued = queue.jobs.get(id)!;
  const results = [];
  for (const shard of queued.shards) results.push(await worker.handle(shard));
  const aggregator = new Aggregator(config, {
    jobs,
    documents: documentStore,
    registry,
    webhooks: new FakeWebhookQueue(),
    consume: () => [],
    log: silent,
  });
  await aggregator.aggregate(aggregationTask(id, results as ShardResult[]));
}

/** A results answer's JSON body. */
function json(answer: ResultsAnswer): unknown {
  if (answer.kind !== 'json') throw new Error('expected a JSON answer');
  return answer.body;
}

describe('JobsService', () => {
  it('accepts a job (stored, queued as shards), and serves its view and top-k once scored', async () => {
    const documents = ['tiny', 'a much longer document', 'medium doc', { id: 'x9', text: 'the longest document of them all' }];
    const created = await service.create(
      { model: 'enc', query: 'q', documents, top_k: 2, return_documents: true },
      'alice',
      undefined,
      'http://api',
    );
    expect(created.status).toBe(202);
    const body = created.body as { id: string; status: string; counts: unknown; progress: { shards_total: number } };
    expect([body.status, body.counts]).toEqual(['queued', { queries: 1, documents: 4, pairs: 4 }]);
    const queued = queue.jobs.get(body.id)!;
    expect(queued.model).toBe('enc');
    expect(queued.shards.length).toBe(body.progress.shards_total);
    expect(queued.shards.flatMap((s) => s.idx).sort()).toEqual([0, 1, 2, 3]);
    // Activated: the job and its texts stay until it ends; its shards carry the job's schedule.
    expect([jobs.ttl(body.id), documentStore.ttl(body.id)]).toEqual([null, null]);
    expect(queued.schedule).toEqual({ class: 'batch', tenant: 'alice', group: body.id, weight: 1 });
    expect(queued.shards.every((s) => s.schedule === queued.schedule)).toBe(true);

    await runJob(body.id);
    const view = (await service.get(body.id, 'alice', 'http://api')) as { status: string; progress: unknown };
    expect(view.status).toBe('completed');
    expect(view.progress).toMatchObject({ shards_done: queued.shards.length, pairs_done: 4, pairs_total: 4 });
    const results = json(await service.results(body.id, 'alice', false, undefined)) as { results: { top_k: unknown[] }[] };
    expect(results.results[0].top_k).toEqual([
      { index: 3, id: 'x9', score: 32, document: { text: 'the longest document of them all' } },
      { index: 1, score: 22, document: { text: 'a much longer document' } },
    ]);
    // Another key's job looks like a missing one.
    await expect(service.get(body.id, 'bob', '')).rejects.toMatchObject({ status: 404 });
  });

  it('serves every score as JSON lines (chunks of whole lines, the controller streams them) or as one JSON document', async () => {
    const created = await service.create(
      { model: 'enc', queries: [{ id: 'q1', query: 'q' }], documents: [{ id: 'a', text: 'xx' }, 'y', 'zzz'], top_k: 1 },
      'alice',
      undefined,
      '',
    );
    const id = (created.body as { id: string }).id;
    await runJob(id);
    const answer = await service.results(id, 'alice', true, undefined);
    if (answer.kind !== 'lines') throw new Error('expected JSON lines');
    let text = '';
    for await (const chunk of answer.lines) {
      expect(chunk.endsWith('\n')).toBe(true);
      text += chunk;
    }
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { query_index: 0, query_id: 'q1', index: 0, id: 'a', score: 2 },
      { query_index: 0, query_id: 'q1', index: 1, score: 1 },
      { query_index: 0, query_id: 'q1', index: 2, score: 3 },
    ]);
    expect(json(await service.results(id, 'alice', true, 'json'))).toMatchObject({ results: [{ query_index: 0, scores: [2, 1, 3] }] });
    await expect(service.results(id, 'alice', true, 'xml')).rejects.toMatchObject({ kind: 'invalid', field: 'format' });
  });

  it('refuses bad input with the field named and stores nothing', async () => {
    const before = jobs.ids();
    await expect(service.create({ model: 'enc', query: 'q', documents: [] }, 'alice', undefined, '')).rejects.toMatchObject({
      kind: 'empty',
      field: 'documents',
    });
    await expect(service.create({ model: 'nope', query: 'q', documents: ['a'] }, 'alice', undefined, '')).rejects.toMatchObject({
      kind: 'invalid',
      field: 'model',
    });
    expect(jobs.ids()).toEqual(before);
  });

  it('answers a repeated Idempotency-Key with the first job, and 409 for another body', async () => {
    const body = { model: 'enc', query: 'q', documents: ['a', 'b'] };
    const first = await service.create(body, 'alice', 'key-1', '');
    const again = await service.create(body, 'alice', 'key-1', '');
    expect(again.status).toBe(200);
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const other = await service.create({ ...body, top_k: 1 }, 'alice', 'key-1', '').catch((e: ApiError) => e);
    expect(other).toMatchObject({ status: 409, code: 'idempotency_key_reused' });
  });

  it("an Idempotency-Key held by a creation that died: 409 with Retry-After while its lease runs, then taken over (the dead request's leftovers removed)", async () => {
    const body = { model: 'enc', query: 'q', documents: ['a', 'b'] };
    const hash = (v: string) => createHash('sha256').update(v).digest('hex');
    const keyHash = hash('key-dead');
    // The dead request stored its texts and its pending job, then the lease was all that was left of it.
    await documentStore.write('job_dead', ['a', 'b']);
    const dead = { job: 'job_dead', body: hash(JSON.stringify(body)), leaseUntil: Date.now() + 60000 };
    expect(await jobs.claimIdempotencyKey('alice', keyHash, dead, 60)).toBeNull();
    const busy = await service.create(body, 'alice', 'key-dead', '').catch((e: ApiError) => e);
    expect(busy).toMatchObject({ status: 409, code: 'idempotency_key_in_use', headers: { 'retry-after': '60' } });
    // The lease lapses (the fake keeps whatever the claim says).
    const lapsed = { ...dead, leaseUntil: Date.now() - 1 };
    expect(await jobs.updateIdempotencyKey('alice', keyHash, dead, lapsed, 60)).toBe(true);
    const created = await service.create(body, 'alice', 'key-dead', '');
    expect(created.status).toBe(202);
    const id = (created.body as { id: string }).id;
    expect(id).not.toBe('job_dead');
    expect(await documentStore.has('job_dead')).toBe(false);
    // Committed: the next retry gets the job.
    const again = await service.create(body, 'alice', 'key-dead', '');
    expect(again).toMatchObject({ status: 200, body: { id } });
  });

  it('cancels a queued job: status, pending shards removed, webhook queued; a second cancel is 409', async () => {
    const created = await service.create(
      { model: 'enc', query: 'q', documents: ['a', 'b'], webhook: { url: 'http://127.0.0.1:9/h' } },
      'alice',
      undefined,
      '',
    );
    const id = (created.body as { id: string }).id;
    const view = (await service.cancel(id, 'alice', '')) as { status: string };
    expect(view.status).toBe('cancelled');
    expect(queue.cancelled).toContain(id);
    // The workers are told (a shard in hand drops its pairs not yet on a device).
    expect(cancels.published).toContainEqual({ kind: 'job', id });
    expect(queue.queued).toContainEqual({ jobId: id, event: 'cancelled' });
    expect([jobs.ttl(id), documentStore.ttl(id)]).toEqual([config.jobs.resultTtlSeconds, config.jobs.resultTtlSeconds]);
    await expect(service.cancel(id, 'alice', '')).rejects.toMatchObject({ status: 409, code: 'job_finished' });
    // Its shards, taken anyway, are skipped.
    expect(await worker.handle(queue.jobs.get(id)!.shards[0])).toEqual({ skipped: true, reason: 'job cancelled' });
  });

  it('a queue that cannot take the job: 503, and the job is not left behind', async () => {
    const before = jobs.ids();
    queue.failAdd = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    try {
      await expect(service.create({ model: 'enc', query: 'q', documents: ['a'] }, 'alice', undefined, '')).rejects.toMatchObject({
        status: 503,
        code: 'queue_unavailable',
      });
    } finally {
      queue.failAdd = null;
    }
    expect(jobs.ids()).toEqual(before);
  });
});

describe('RerankService', () => {
  it('scores through the queue and ranks (Cohere v2 shape), the request removed after', async () => {
    const out = await rerank.rerank(
      { model: 'enc', query: 'q', documents: ['bb', 'a', 'cccc'], top_n: 2, return_documents: true },
      2,
      'alice',
    );
    expect(out.results).toEqual([
      { index: 2, relevance_score: 4, document: { text: 'cccc' } },
      { index: 0, relevance_score: 2, document: { text: 'bb' } },
    ]);
    expect(out.usage).toEqual({ documents: 3, search_units: 1, total_tokens: 6, prompt_tokens: 6 });
    expect(queue.sync.size).toBe(0);
  });

  it('a failed scoring is 500 with the reason; no worker in time is 504 and the request is taken back', async () => {
    await expect(rerank.rerank({ model: 'enc', query: 'q', documents: ['a'], max_length: -1 }, 1, 'alice')).rejects.toMatchObject({
      kind: 'invalid',
      field: 'max_length',
    });
    const removedBefore = queue.removed.length;
    queue.hold = true;
    try {
      await expect(rerank.rerank({ model: 'enc', query: 'q', documents: ['a'] }, 1, 'alice')).rejects.toMatchObject({
        status: 504,
        code: 'timeout',
      });
    } finally {
      queue.hold = false;
    }
    expect(queue.removed.length).toBe(removedBefore + 1);
    const failingQueue = new FakeScoringQueue(async () => Promise.reject(new Error('device lost')));
    const failing = new RerankService(config, new SyncScoring(config, failingQueue, backpressure, models, cancels), models, rateLimits);
    await expect(failing.rerank({ model: 'enc', query: 'q', documents: ['a'] }, 1, 'alice')).rejects.toMatchObject({
      status: 500,
      code: 'scoring_failed',
      message: 'scoring failed: device lost',
    });
  });
});

describe('rate limits and backpressure: errors carry their headers', () => {
  it('a request within the budget gets its RateLimit-* headers; past it, 429 with Retry-After and the limit', async () => {
    const limited = unitConfig({ RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE: '2', RERANK_RATE_LIMIT_ACTIVE_JOBS: '1' });
    const store = new MemoryJobStore(new MemoryDocumentStore());
    const limits = new RateLimitService(limited, new MemoryQuotaStore({ requests: 2, pairs: 0 }, store));
    expect(await limits.request('t1')).toEqual({ 'RateLimit-Limit': '2', 'RateLimit-Remaining': '1', 'RateLimit-Reset': '60' });
    expect(await limits.request('t1')).toEqual({ 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '60' });
    const refused = (await limits.request('t1').catch((e: unknown) => e)) as ApiError;
    expect(refused).toBeInstanceOf(ApiError);
    expect([refused.status, refused.code, refused.limit?.env]).toEqual([429, 'rate_limited', 'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE']);
    expect(refused.headers).toEqual({ 'retry-after': '60', 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '60' });
    expect(refused.toBody().error.retry_after_seconds).toBe(60);
    // Active jobs: the second of one tenant is refused until the first ends.
    await storeOneDocumentJob(store, 'job_1', 't1');
    await limits.claimActiveJob('t1', 'job_1');
    const busy = (await limits.claimActiveJob('t1', 'job_2').catch((e: unknown) => e)) as ApiError;
    expect([busy.status, busy.headers]).toEqual([429, { 'retry-after': '5' }]);
    await store.finish('job_1', 'completed');
    await limits.claimActiveJob('t1', 'job_2');
  });

  it('backpressure: 503 overloaded with Retry-After when the store is nearly full, at once when it is unreachable', async () => {
    const store = new MemoryJobStore(new MemoryDocumentStore());
    const fakeQuotas = new MemoryQuotaStore({ requests: 0, pairs: 0 }, store);
    const gate = new BackpressureService(config, fakeQuotas, store);
    await gate.admit(10, 1000);
    fakeQuotas.storeMemory = { used: 950, max: 1000 };
    const gateFull = new BackpressureService(config, fakeQuotas, store);
    const full = (await gateFull.admit(10, 1000).catch((e: unknown) => e)) as ApiError;
    expect([full.status, full.code, full.headers, full.extra]).toEqual([
      503,
      'overloaded',
      { 'retry-after': '5' },
      { retry_after_seconds: 5, reason: 'redis_memory' },
    ]);
    store.up = false;
    const down = (await gate.admit(1, 1).catch((e: unknown) => e)) as ApiError;
    expect([down.status, down.code, down.headers]).toEqual([503, 'unavailable', { 'retry-after': '2' }]);
  });
});

describe('ModelsService', () => {
  it("sizes the one fairness credit for a model's queue: its live workers' throughput over the engine's TENANT_CREDIT_MS", async () => {
    const workers = new MemoryWorkersRegistry();
    const beat = (id: string, models: string[], charsPerSecond: number | undefined, state: 'ready' | 'stopping' = 'ready') =>
      workers.beat({
        id,
        host: 'h',
        pid: 1,
        device: 'cpu',
        threads: 1,
        state,
        models: models.map((name) => ({ name, family: 'encoder', generated: true })),
        startedAt: 0,
        beatAt: Date.now(),
        shardsScored: 0,
        pairsScored: 0,
        current: null,
        ...(charsPerSecond !== undefined ? { charsPerSecond } : {}),
      });
    const service = new ModelsService(config, workers);
    await service.refresh();
    // No worker has measured its throughput yet: 65,536 characters a second are assumed.
    expect(service.creditChars('enc')).toBe(ASSUMED_CHARS_PER_SECOND * 4);
    expect(ASSUMED_CHARS_PER_SECOND).toBe(65536);
    await beat('w1', ['enc'], 50_000);
    await beat('w2', ['enc'], 30_000);
    await beat('w3', ['other'], 1_000_000);
    await beat('w4', ['enc'], 90_000, 'stopping');
    await beat('w5', ['enc'], undefined);
    await service.refresh();
    // 80,000 characters a second for 4 s.
    expect(TENANT_CREDIT_MS).toBe(4000);
    expect(service.creditChars('enc')).toBe(320_000);
  });
});
