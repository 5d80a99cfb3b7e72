/**
 * Job creation is all or nothing: the API process SIGKILLs itself right after each step of a job's
 * creation (the test hook RERANK_TEST_FAULT_AFTER, honoured with RERANK_TEST_HOOKS=1), then the same
 * request with the same Idempotency-Key goes to a restarted API. Whatever the step, the tenant sees
 * no job or a complete one (never `queued 0/N` without shards), the retry gets its answer within the
 * key's lease, and exactly one job results, completed, with the scores of the same request run
 * without a crash.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { JobInspector } from '../support/job-inspector';
import { removeTestModels, testEncoderDir } from '../support/model';

jest.setTimeout(300000);

const LEASE_MS = 2000;
const STEPS = ['claim', 'documents', 'record', 'quota', 'queue', 'activate'] as const;

let cluster: Cluster;
const docs = makeDocuments(600, 21, 4, 30);
const body = { model: 'tiny', query: 'where is the old library near the harbor', documents: docs, top_k: 5 };
let expected: number[];

beforeAll(async () => {
  const dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    // Several shards per job, so "queued but not all shards" is a state the crash could leave.
    env: { RERANK_IDEMPOTENCY_LEASE_MS: String(LEASE_MS), RERANK_TEST_HOOKS: '1', RERANK_SHARD_MAX_PAIRS: '150' },
  });
  // The same request without a crash: the scores every retried job must give.
  const first = await cluster.client.post('/v1/jobs', body, { 'idempotency-key': 'no-crash' });
  expect(first.status).toBe(202);
  expect((await cluster.client.waitJob(first.body.id, 120000)).status).toBe('completed');
  expected = await cluster.client.allScores(first.body.id);
  expect(expected).toHaveLength(docs.length);
});

afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
});

/** The ids in the tenant's listing. */
async function listed(): Promise<string[]> {
  const r = await cluster.client.get('/v1/jobs?limit=100');
  expect(r.status).toBe(200);
  return (r.body.data as { id: string }[]).map((j) => j.id);
}

/** Restarts the API with the fault hook set to `step` (or none). */
async function restartApi(step: string | undefined): Promise<void> {
  const env = { ...cluster.env };
  delete env.RERANK_TEST_FAULT_AFTER;
  cluster.env = step ? { ...env, RERANK_TEST_FAULT_AFTER: step } : env;
  await cluster.restartApi();
}

it.each(STEPS)(
  'the API killed right after "%s": nothing or the whole job is visible; a retry with the same key gives one completed job with the same scores',
  async (step) => {
    const key = { 'idempotency-key': `crash-after-${step}` };
    const inspector = new JobInspector(cluster.redis.client);
    const listedBefore = await listed();
    const storedBefore = await inspector.jobIds();

    await restartApi(step);
    // The API dies inside the request: the connection closes without an answer.
    await expect(cluster.client.post('/v1/jobs', body, key)).rejects.toThrow();
    expect(await cluster.api.exited).toBe(-1); // a signal ended it

    await restartApi(undefined);
    // Visible only complete: listed with all its shards queued (then it runs), or not listed at all.
    const afterCrash = (await listed()).filter((id) => !listedBefore.includes(id));
    expect(afterCrash).toHaveLength(step === 'activate' ? 1 : 0);
    // A job stored before its shards were queued is not readable by id either.
    for (const left of (await inspector.jobIds()).filter((j) => !storedBefore.includes(j) && !afterCrash.includes(j))) {
      expect((await cluster.client.get(`/v1/jobs/${left}`)).status).toBe(404);
    }
    // The retry: answered within the lease (409 with Retry-After until then), never locked for hours.
    const t0 = Date.now();
    let reply = await cluster.client.post('/v1/jobs', body, key);
    while (reply.status === 409) {
      expect(reply.body.error.code).toBe('idempotency_key_in_use');
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Date.now() - t0).toBeLessThan(LEASE_MS + 5000);
      await sleep(200);
      reply = await cluster.client.post('/v1/jobs', body, key);
    }
    // A job that got as far as its shards (queue, activate) is the one the retry gets back; before, a new one.
    expect(reply.status).toBe(step === 'queue' || step === 'activate' ? 200 : 202);
    const id = reply.body.id as string;
    if (step === 'activate') expect(id).toBe(afterCrash[0]);

    const view = await cluster.client.waitJob(id, 120000);
    expect(view.status).toBe('completed');
    expect(view.progress).toMatchObject({ pairs_done: docs.length, pairs_total: docs.length });
    expect(await cluster.client.allScores(id)).toEqual(expected);

    // One job for the request: listed once; another retry gives it back.
    expect((await listed()).filter((j) => !listedBefore.includes(j))).toEqual([id]);
    const again = await cluster.client.post('/v1/jobs', body, key);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    // Nothing else was left behind in Redis: the crashed request's job is the retry's, or was removed.
    expect((await inspector.jobIds()).filter((j) => !storedBefore.includes(j))).toEqual([id]);
  },
);
