/**
 * Redis Cluster: 3 masters made by `redis-cli --cluster create`, API, aggregator and two workers
 * on REDIS_URL=redis+cluster://...; a 10,000-document job completes with every score equal to the
 * engine's in-process scores, and its keys are hash-tagged (one slot per job, one for the queues).
 */
import { createRedis, redisNodes } from '@rerank/jobs';
import { clusterKeysInUse, keys } from '../../libs/jobs/src/store/keys';
import type { Redis } from 'ioredis';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir, referenceScores } from '../support/model';
import { type RedisClusterNodes, startRedisCluster } from '../support/redis-topology';

jest.setTimeout(240000);

const DOCS = makeDocuments(10000, 77, 4, 32);
const QUERY = 'where is the old library near the harbor';

let nodes: RedisClusterNodes;
let cluster: Cluster;
let redis: Redis;
let reference: number[];

beforeAll(async () => {
  const dir = await testEncoderDir();
  reference = await referenceScores(dir, QUERY, DOCS);
  nodes = await startRedisCluster(3);
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu,cpu',
    redisUrl: nodes.url,
    env: { RERANK_THREADS: '1' },
  });
  redis = createRedis(nodes.url, { name: 'test' });
});

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
  await nodes?.stop();
  removeTestModels();
});

it('runs a 10,000-document job on a 3-master Redis Cluster with the engine scores', async () => {
  expect(clusterKeysInUse()).toBe(true);
  const post = await cluster.client.post('/v1/jobs', { model: 'tiny', query: QUERY, documents: DOCS, top_k: 5 });
  expect(post.status).toBe(202);
  const id = post.body.id;
  const view = await cluster.client.waitJob(id, 200000);
  expect(view.status).toBe('completed');
  expect(view.progress.pairs_done).toBe(10000);
  expect(view.progress.pairs_total).toBe(10000);

  const all = await fetch(`${cluster.client.base}/v1/jobs/${id}/results?all=true`);
  const lines = (await all.text())
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(10000);
  expect(lines.map((l) => l.index)).toEqual(DOCS.map((_, i) => i));
  expect(lines.map((l) => l.score)).toEqual(reference);

  const top = await cluster.client.get(`/v1/jobs/${id}/results`);
  const expectedTop = reference
    .map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, 5);
  expect(top.body.results[0].top_k.map((r: any) => ({ index: r.index, score: r.score }))).toEqual(expectedTop);

  // Hash tags: the job's keys are `rerank:job:{<id>}...` (one slot), BullMQ's under `{rerank:q}`.
  expect(keys.job(id)).toBe(`rerank:job:{${id}}`);
  expect(await redis.exists(keys.job(id))).toBe(1);
  const slot = async (key: string) => Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  expect(await slot(keys.result(id))).toBe(await slot(keys.job(id)));
  expect(await slot(keys.scores(id))).toBe(await slot(keys.job(id)));
  const bullKeys: string[] = [];
  for (const node of redisNodes(redis)) bullKeys.push(...(await node.keys('*rerank:q*')));
  expect(bullKeys.length).toBeGreaterThan(0);
  expect(bullKeys.every((k) => k.startsWith('{rerank:q}:'))).toBe(true);
  // Jobs are spread: the three masters each serve slots (the job keys are on one of them).
  expect(redisNodes(redis)).toHaveLength(3);

  // The listing reads each job's keys on its own node.
  const list = await cluster.client.get('/v1/jobs');
  expect(list.status).toBe(200);
  expect(list.body.data.map((j: any) => j.id)).toContain(id);
});
