/**
 * Issue 13, a worker's tenant slots (RERANK_WORKER_TENANT_SLOTS), with real processes on a real
 * Redis: one worker with one fixed shard slot, busy with tenant A's job of a single long shard.
 * Tenant B's small job, sent while that shard runs, is taken by a tenant slot and completes while A's
 * shard is still running; with the slots switched off it waits for A's shard. Scores equal the
 * in-process engine's either way.
 */
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { referenceScores, testEncoderDir } from '../support/model';
import type { ApiClient } from '../support/http';
import { waitFor } from '../support/processes';

jest.setTimeout(300000);

const ALICE = 'key-alice-slots-000';
const BOB = 'key-bob-slots-00000';
/** One shard (RERANK_SHARD_MIN_COUNT 1, shard bounds above the job) of 8,000 pairs: seconds on one runtime thread. */
const LONG = { query: 'where is the old library near the harbor', documents: makeDocuments(8000, 2121, 4, 40) };
const SMALL = { query: 'alpha river', documents: makeDocuments(40, 77, 4, 40) };

let cluster: Cluster;
let dir: string;

beforeAll(async () => {
  dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    env: {
      RERANK_THREADS: '1',
      RERANK_SHARD_MAX_PAIRS: '10000',
      RERANK_SHARD_MAX_CHARS: '10000000',
      RERANK_SHARD_MIN_COUNT: '1',
      RERANK_WORKER_CONCURRENCY: '1',
      RERANK_API_KEYS: `alice:${ALICE},bob:${BOB}`,
    },
  });
});

afterAll(async () => {
  await cluster?.stop();
});

const alice = () => cluster.client.withKey(ALICE);
const bob = () => cluster.client.withKey(BOB);

/** Waits until the job's status is one of `statuses`; its view then. */
async function waitStatus(client: ApiClient, id: string, statuses: string[]): Promise<any> {
  return waitFor(
    `job ${id} ${statuses.join(' or ')}`,
    async () => {
      const v = await client.get(`/v1/jobs/${id}`);
      expect(v.status).toBe(200);
      return statuses.includes(v.body.status) ? v.body : undefined;
    },
    240000,
    20,
  );
}

/** A's long job running, then B's small job: B's status when it ended and A's at that moment. */
async function smallBesideLong(): Promise<{ long: string; small: string; longWhenSmallEnded: any }> {
  const long = await alice().post('/v1/jobs', { model: 'tiny', ...LONG, top_k: 5 });
  expect(long.status).toBe(202);
  expect(long.body.progress.shards_total).toBe(1);
  await waitStatus(alice(), long.body.id, ['running']);
  const small = await bob().post('/v1/jobs', { model: 'tiny', ...SMALL, top_k: 5 });
  expect(small.status).toBe(202);
  expect((await waitStatus(bob(), small.body.id, ['completed', 'failed'])).status).toBe('completed');
  const longWhenSmallEnded = (await alice().get(`/v1/jobs/${long.body.id}`)).body;
  expect((await waitStatus(alice(), long.body.id, ['completed', 'failed'])).status).toBe('completed');
  return { long: long.body.id, small: small.body.id, longWhenSmallEnded };
}

test("with tenant slots (the default), another tenant's job runs beside the one shard filling the fixed slot and ends first", async () => {
  const worker = await cluster.startWorker();
  try {
    const { long, small, longWhenSmallEnded } = await smallBesideLong();
    expect(longWhenSmallEnded.status).toBe('running');
    expect(longWhenSmallEnded.progress.shards_done).toBe(0);
    expect(await bob().allScores(small)).toEqual(await referenceScores(dir, SMALL.query, SMALL.documents));
    expect(await alice().allScores(long)).toEqual(await referenceScores(dir, LONG.query, LONG.documents));
  } finally {
    await worker.stop();
  }
});

test('with RERANK_WORKER_TENANT_SLOTS=0, the small job waits for the shard in the fixed slot', async () => {
  const worker = await cluster.startWorker({ RERANK_WORKER_TENANT_SLOTS: '0' });
  try {
    const { small, longWhenSmallEnded } = await smallBesideLong();
    expect(longWhenSmallEnded.status).toBe('completed');
    expect(await bob().allScores(small)).toEqual(await referenceScores(dir, SMALL.query, SMALL.documents));
  } finally {
    await worker.stop();
  }
});
