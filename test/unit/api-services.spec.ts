/**
 * The API's services in-process on fakes of their ports (job, document and quota stores, workers
 * registry, scoring queue): no Redis. JobsService and RerankService with the real rate limits and
 * backpressure over the fake stores; a job's shards run through a ShardWorker (fake scorer) and the
 * Aggregator, so create -> results runs whole.
 */
import { ApiError, type RerankConfig, type ShardResult } from '@rerank/jobs';
import { Aggregator } from '../../apps/aggregator/src/aggregator';
import { BackpressureService } from '../../apps/api/src/backpressure';
import { JobsService, type ResultsAnswer } from '../../apps/api/src/jobs.service';
import { ModelsService } from '../../apps/api/src/models.service';
import { RateLimitService } from '../../apps/api/src/rate-limit.service';
import { RerankService } from '../../apps/api/src/rerank.service';
import { SyncScoring } from '../../apps/api/src/sync-scoring';
import { ShardWorker } from '../../apps/worker/src/shard-worker';
import {
  aggregationTask,
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
const service = new JobsService(config, jobs, documentStore, queue, models, rateLimits, backpressure);
const rerank = new RerankService(config, new SyncScoring(config, queue, backpressure, models), models, rateLimits);

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

  it('refuses bad input with the field named and stores nothing', async () => {
    const before = jobs.ids();
    await expect(service.create({ model: 'enc', query: 'q', documents: [] }, 'alice', undefined, '')).rejects.toMatchObject({
      kind: 'invalid',
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
    expect(queue.queued).toContainEqual({ jobId: id, event: 'cancelled' });
    expect([jobs.ttl(id), documentStore.ttl(id)]).toEqual([config.resultTtlSeconds, config.resultTtlSeconds]);
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
    expect(out.usage).toEqual({ documents: 3, search_units: 1, total_tokens: 6 });
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
    const failing = new RerankService(config, new SyncScoring(config, failingQueue, backpressure, models), models, rateLimits);
    await expect(failing.rerank({ model: 'enc', query: 'q', documents: ['a'] }, 1, 'alice')).rejects.toMatchObject({
      status: 500,
      code: 'scoring_failed',
      message: 'scoring failed: device lost',
    });
  });
});
