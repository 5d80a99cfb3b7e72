/**
 * A cancel stops the work, on real processes (API, aggregator, a launcher with one CPU worker, a real
 * redis-server): the device work is read off the worker's rerank_worker_pairs_run_total (pairs the
 * device ran, batch by batch, whatever became of their call).
 * - a 10,000-document job cancelled 1 s after its 202: its queued shards leave the queue, the shards
 *   the worker holds stop at their next batch; pairs run after the cancel stay within a few batches;
 * - a synchronous request whose client closes the connection, and one that times out (504): their
 *   scoring stops the same way and their texts leave Redis at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { modelQueues } from '@rerank/jobs';
import { freePort } from '@rerank/harness';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir } from '../support/model';
import { Scrape } from '../support/prometheus';

jest.setTimeout(300000);

/** The engine's default rows per batch (the worker scores with it). */
const BATCH = 128;
const SYNC_TIMEOUT_MS = 3000;

let cluster: Cluster;
let launcherMetrics: string;

beforeAll(async () => {
  const dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    env: { RERANK_SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS), RERANK_SHARD_MIN_COUNT: '4' },
  });
  launcherMetrics = `http://127.0.0.1:${await freePort()}/metrics`;
  await cluster.startWorkers('cpu', { HEALTH_PORT: new URL(launcherMetrics).port });
});

afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
});

/** Pairs the worker's device ran so far. */
async function pairsRun(): Promise<number> {
  return (await Scrape.of(launcherMetrics)).value('rerank_worker_pairs_run_total', { device: 'cpu', model: 'tiny' });
}

/** Waits until the device ran nothing for a second; the pairs it ran by then. */
async function settled(): Promise<number> {
  let last = await pairsRun();
  for (;;) {
    await sleep(1000);
    const now = await pairsRun();
    if (now === last) return now;
    last = now;
  }
}

/** Keys of the model's sync queue holding a part (its data: the texts). */
async function syncParts(): Promise<string[]> {
  const queue = modelQueues('tiny').sync;
  const keys = await cluster.redis.client.keys(`rerank:q:${queue}:*`);
  return keys.filter((k) => /:\d+$/.test(k));
}

it('a 10,000-document job cancelled 1 s after its 202: its queued shards leave the queue and the device runs at most a few more batches', async () => {
  const docs = makeDocuments(10000, 31, 4, 30);
  const created = await cluster.client.post('/v1/jobs', {
    model: 'tiny',
    query: 'where is the old library near the harbor',
    documents: docs,
  });
  expect(created.status).toBe(202);
  await sleep(1000);
  const beforeCancel = await pairsRun();
  const cancelled = await cluster.client.del(`/v1/jobs/${created.body.id}`);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.status).toBe('cancelled');
  const after = await settled();
  const ranAfterCancel = after - beforeCancel;
  console.log(`10,000-document job: ${beforeCancel} pairs run before the cancel, ${ranAfterCancel} after it`);
  // It was working, and stopped: the batch each of the worker's shards was computing, and the one its device thread started behind it.
  expect(beforeCancel).toBeGreaterThan(0);
  expect(ranAfterCancel).toBeLessThanOrEqual(4 * BATCH);
  expect(after).toBeLessThan(docs.length);
  // Nothing of it left in the queue.
  const { counts } = await cluster.footprint();
  expect(counts).toEqual({ shards: 0, wait: 0 });
  const view = await cluster.client.get(`/v1/jobs/${created.body.id}`);
  expect(view.body.status).toBe('cancelled');
});

it('a synchronous request whose client closed the connection: its scoring stops at the next batch and its texts leave Redis', async () => {
  const docs = makeDocuments(10000, 32, 4, 30);
  const start = await pairsRun();
  const client = new AbortController();
  const request = fetch(`${cluster.base}/v1/rerank`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', query: 'alpha river', documents: docs }),
    signal: client.signal,
  });
  // Gone once the worker started on it.
  while ((await pairsRun()) === start) await sleep(50);
  const beforeClose = await pairsRun();
  client.abort();
  await expect(request).rejects.toThrow();
  const after = await settled();
  console.log(`sync request, client gone: ${beforeClose - start} pairs run before, ${after - beforeClose} after`);
  expect(after - beforeClose).toBeLessThanOrEqual(4 * BATCH);
  expect(after - start).toBeLessThan(docs.length);
  expect(await syncParts()).toEqual([]);
});

it('a synchronous request that timed out (504): its scoring stops and its texts leave Redis at once', async () => {
  const docs = makeDocuments(10000, 33, 20, 60);
  const start = await pairsRun();
  const r = await cluster.client.post('/v1/rerank', { model: 'tiny', query: 'alpha river', documents: docs });
  expect(r.status).toBe(504);
  const at504 = await pairsRun();
  const after = await settled();
  console.log(`sync request, 504: ${at504 - start} pairs run before the 504, ${after - at504} after`);
  expect(after - at504).toBeLessThanOrEqual(4 * BATCH);
  expect(after - start).toBeLessThan(docs.length);
  expect(await syncParts()).toEqual([]);
});
