/**
 * Redis Sentinel: master + replica + 3 sentinels; API, aggregator and workers on
 * REDIS_URL=redis+sentinel://.../<name>. The master is SIGKILLed while a job is being scored, the
 * sentinels promote the replica, and the job completes with every score equal to the engine's.
 */
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir, referenceScores } from '../support/model';
import { waitFor } from '../support/processes';
import { type SentinelSet, startSentinelSet } from '../support/redis-topology';

jest.setTimeout(240000);

const DOCS = makeDocuments(6000, 91, 4, 32);
const QUERY = 'alpha river';

let sentinel: SentinelSet;
let cluster: Cluster;
let reference: number[];

beforeAll(async () => {
  const dir = await testEncoderDir();
  reference = await referenceScores(dir, QUERY, DOCS);
  sentinel = await startSentinelSet(3);
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    redisUrl: sentinel.url,
    // Small shards: the job is still being scored when the master dies.
    env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '200' },
  });
});

afterAll(async () => {
  await cluster?.stop();
  await sentinel?.stop();
  removeTestModels();
});

it('completes a job with identical scores through a Sentinel failover in the middle of it', async () => {
  expect(await sentinel.masterPort()).toBe(sentinel.master.port);
  const post = await cluster.client.post('/v1/jobs', { model: 'tiny', query: QUERY, documents: DOCS, top_k: 5 });
  expect(post.status).toBe(202);
  const id = post.body.id;
  // Mid-job: some shards scored, not all.
  await waitFor(
    'the job part-way scored',
    async () => {
      const v = (await cluster.client.get(`/v1/jobs/${id}`)).body;
      if (v.status === 'completed') throw new Error('the job finished before the failover; make it larger');
      return v.progress.pairs_done > 0 ? true : undefined;
    },
    60000,
    50,
  );
  await sentinel.master.process.kill();
  await waitFor(
    'the sentinels to promote the replica',
    async () => ((await sentinel.masterPort()) === sentinel.replica.port ? true : undefined),
    60000,
    200,
  );

  const view = await cluster.client.waitJob(id, 180000);
  expect(view.status).toBe('completed');
  expect(view.progress.pairs_done).toBe(DOCS.length);
  const all = await fetch(`${cluster.client.base}/v1/jobs/${id}/results?all=true`);
  const lines = (await all.text())
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => l.index)).toEqual(DOCS.map((_, i) => i));
  expect(lines.map((l) => l.score)).toEqual(reference);
  // Every process is still up, on the promoted master.
  expect([cluster.api.running(), cluster.aggregator.running()]).toEqual([true, true]);
  expect((await cluster.client.get('/health/ready')).status).toBe(200);
});
