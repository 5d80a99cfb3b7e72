/**
 * Redis refusing writes with MISCONF, its answer when it cannot persist (a failed RDB snapshot under
 * stop-writes-on-bgsave-error yes, as on a full disk): the real redis-server's own refusal, made by
 * taking its data directory away so the snapshot's temporary file cannot be created (as root too,
 * with no mount). Every API entry point answers 503 with Retry-After, nothing stored; a job running
 * meanwhile is retried by the workers and the aggregator (RERANK_INFRA_RETRY_MS), not failed, and
 * completes with the engine's scores once Redis takes writes again.
 */
import { rmSync } from 'node:fs';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, removeTestModels, referenceScores } from '../support/model';
import { waitFor } from '../support/processes';

jest.setTimeout(240000);

const MISCONF_REPLY = /^MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(() => removeTestModels());

/** Redis's snapshot fails (its directory is gone) and, with stop-writes-on-bgsave-error, every write is refused; reads answer. */
async function stopPersisting(c: Cluster): Promise<void> {
  const redis = c.redis.client;
  rmSync(c.redis.dir, { recursive: true, force: true });
  await redis.config('SET', 'save', '3600 1');
  await redis.config('SET', 'stop-writes-on-bgsave-error', 'yes');
  await redis.bgsave();
  await waitFor(
    'the snapshot failed',
    async () => ((await redis.info('persistence')).includes('rdb_last_bgsave_status:err') ? true : undefined),
    10000,
    50,
  );
  await expect(redis.set('rerank:test:probe', '1')).rejects.toThrow(MISCONF_REPLY);
}

async function persistAgain(c: Cluster): Promise<void> {
  await c.redis.client.config('SET', 'stop-writes-on-bgsave-error', 'no');
  expect(await c.redis.client.set('rerank:test:probe', '1')).toBe('OK');
  await c.redis.client.del('rerank:test:probe');
}

it('every entry point answers 503 with Retry-After while Redis refuses writes (MISCONF), and takes work again after', async () => {
  const dir = await testEncoderDir();
  // Small shards: a worker stopping at the end finishes its shard in well under a second.
  const c = (cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: { RERANK_SHARD_MAX_PAIRS: '100' },
  }));
  const queued = await c.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: makeDocuments(2000, 5, 4, 30) });
  expect(queued.status).toBe(202);
  await stopPersisting(c);
  const refusing = await c.footprint();
  const answers: Record<string, { status: number; code: unknown; retryAfter: string | null; misconf: boolean }> = {};
  const record = (name: string, r: { status: number; body: any; headers: Headers }) => {
    const message = String(r.body?.error?.message ?? r.body?.error ?? '');
    answers[name] = {
      status: r.status,
      code: r.body?.error?.code ?? r.body?.error_type,
      retryAfter: r.headers.get('retry-after'),
      misconf: message.includes('MISCONF'),
    };
  };
  record('POST /v1/jobs', await c.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['a', 'b'] }));
  record('POST /v1/rerank', await c.client.post('/v1/rerank', { model: 'tiny', query: 'q', documents: ['a', 'b'] }));
  record('POST /rerank (TEI)', await c.client.post('/rerank', { query: 'q', texts: ['a', 'b'] }));
  record('DELETE /v1/jobs/{id}', await c.client.del(`/v1/jobs/${queued.body.id}`));
  expect(answers).toEqual({
    'POST /v1/jobs': { status: 503, code: 'queue_unavailable', retryAfter: '2', misconf: true },
    'POST /v1/rerank': { status: 503, code: 'queue_unavailable', retryAfter: '2', misconf: true },
    'POST /rerank (TEI)': { status: 503, code: 'unhealthy', retryAfter: '2', misconf: true },
    'DELETE /v1/jobs/{id}': { status: 503, code: 'unavailable', retryAfter: '2', misconf: true },
  });
  // Nothing was stored by the refused requests (reads answer meanwhile).
  expect((await c.footprint()).keys).toEqual(refusing.keys);
  expect((await c.client.get(`/v1/jobs/${queued.body.id}`)).status).toBe(200);

  await persistAgain(c);
  const accepted = await c.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['a', 'b'] });
  expect(accepted.status).toBe(202);
  expect((await c.client.del(`/v1/jobs/${queued.body.id}`)).status).toBe(200);
});

/** A cluster with one CPU worker (small shards) and a 3,000-document job of `query` that has made some progress. */
async function runningJob(env: Record<string, string>, query: string, seed: number) {
  const dir = await testEncoderDir();
  const c = (cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '150', ...env },
  }));
  const docs = makeDocuments(3000, seed, 4, 30);
  const created = await c.client.post('/v1/jobs', { model: 'tiny', query, documents: docs, top_k: 5 });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  await waitFor(
    'some progress',
    async () => ((await c.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done >= 300 ? true : undefined),
    60000,
    50,
  );
  return { c, id, dir, docs };
}

it("a job running while Redis refuses writes (MISCONF) for 8 s completes with the engine's scores", async () => {
  const query = 'harbor station';
  // One attempt per shard: a refusal counted as the shard's own error would fail the job at once.
  const { c, id, dir, docs } = await runningJob({ RERANK_SHARD_ATTEMPTS: '1' }, query, 93);
  await stopPersisting(c);
  await sleep(8000);
  const during = await c.client.get(`/v1/jobs/${id}`);
  expect(during.body.status).toBe('running');
  expect(during.body.progress.pairs_done).toBeLessThan(3000);
  await persistAgain(c);

  const view = await c.client.waitJob(id, 180000, undefined, 250);
  expect([view.status, view.error]).toEqual(['completed', null]);
  expect(view.progress).toMatchObject({ pairs_done: 3000, pairs_total: 3000 });
  const all = await c.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
  expect(all.body.results[0].scores).toEqual(await referenceScores(dir, query, docs));
});

it("workers retry a MISCONF refusal as Redis's, not the job's: past RERANK_INFRA_RETRY_MS the job fails with Redis's reason", async () => {
  // Locks outlive the refusal here, so the shard that gives up keeps it and its failure is recorded.
  const { c, id } = await runningJob({ RERANK_INFRA_RETRY_MS: '1500', RERANK_LOCK_DURATION_MS: '60000' }, 'quiet river', 94);
  await stopPersisting(c);
  await sleep(6000);
  await persistAgain(c);
  const view = await c.client.waitJob(id, 120000, undefined, 250);
  expect(view.status).toBe('failed');
  expect(view.error.code).toBe('shard_failed');
  expect(view.error.message).toMatch(
    /^shard \d+ failed: Redis unavailable for \d+ ms while (?:starting|recording the progress of) shard \d+ of job job_\S+ \(gave up after RERANK_INFRA_RETRY_MS\): MISCONF /,
  );
});
