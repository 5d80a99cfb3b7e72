/**
 * Redis is the only shared state: killed (SIGKILL) and restarted from its append-only file in the
 * middle of a job, every process reconnects and the job completes with the engine's scores.
 */
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, removeTestModels, referenceScores } from '../support/model';
import { waitFor } from '../support/processes';

jest.setTimeout(180000);

let cluster: Cluster;
afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
});

it('completes a job across a Redis crash and restart', async () => {
  const dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    persistentRedis: true,
    env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '200' },
  });
  const docs = makeDocuments(3000, 77, 4, 30);
  const created = await cluster.client.post('/v1/jobs', { model: 'tiny', query: 'harbor station', documents: docs, top_k: 5 });
  expect(created.status).toBe(202);
  const id = created.body.id;
  await waitFor(
    'some progress',
    async () => ((await cluster.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done >= 400 ? true : undefined),
    60000,
    50,
  );

  await cluster.redis.kill();
  const down = await cluster.client.get('/health/ready');
  expect(down.status).toBe(503);
  expect(down.body.redis).toMatch(/unreachable/);
  await new Promise((r) => setTimeout(r, 1500));
  await cluster.redis.restart();

  const view = await cluster.client.waitJob(id, 120000, undefined, 250);
  expect(view.status).toBe('completed');
  expect(view.progress).toMatchObject({ pairs_done: 3000, pairs_total: 3000 });
  const expected = await referenceScores(dir, 'harbor station', docs);
  const all = await cluster.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
  expect(all.body.results[0].scores).toEqual(expected);
  expect((await cluster.client.get('/health/ready')).status).toBe(200);
});
