/**
 * Process faults, with real processes on a real redis-server (append-only, fsync always):
 * workers SIGKILLed ten times in one job, Redis SIGKILLed and restarted mid-job, the aggregator
 * killed during an aggregation, the API SIGTERMed with synchronous requests in flight, and a killed
 * worker's shard picked up with the DEFAULT lock and stalled-check settings.
 * Every accepted job must complete with the in-process engine's scores and exactly one signed webhook.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type FlagReranker } from '@rerank/engine';
import { CONFIG_VARS, modelQueues, verifySignature } from '@rerank/jobs';
import { BULL_PREFIX } from '../../libs/jobs/src/store/keys';

// The one model's queues (placement: every model has its own).
const QUEUE_SHARDS = modelQueues('tiny').shards;
const QUEUE_SYNC = modelQueues('tiny').sync;
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir, referenceEngine } from '../support/model';
import { type AppProcess, waitFor } from '../support/processes';
import { type Receiver, startReceiver } from '../support/webhook-receiver';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(240000);

const SECRET = 'whsec-faults-0123456789';
const WEBHOOK_ENV = {
  RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
  RERANK_WEBHOOK_BACKOFF_MS: '200',
  RERANK_WEBHOOK_TIMEOUT_MS: '3000',
};

let modelDir: string;
let engine: FlagReranker;
let receiver: Receiver;

beforeAll(async () => {
  modelDir = await testEncoderDir();
  engine = await referenceEngine(modelDir);
  receiver = await startReceiver();
});

afterAll(async () => {
  await engine?.close();
  await receiver?.close();
  removeTestModels();
});

const expectedScores = (query: string, docs: string[]) => engine.computeScore(docs.map((d) => [query, d] as [string, string]));

async function submit(cluster: Cluster, query: string, docs: string[]): Promise<string> {
  const r = await cluster.client.post('/v1/jobs', {
    model: 'tiny',
    query,
    documents: docs,
    top_k: 5,
    webhook: { url: receiver.url, secret: SECRET },
  });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

/** Completed, every score equal to the engine's in this process, one delivery with a valid signature. */
async function expectCompleted(cluster: Cluster, id: string, query: string, docs: string[]): Promise<void> {
  const view = await cluster.client.waitJob(id, 180000, undefined, 200);
  expect(view.status).toBe('completed');
  expect(view.progress).toMatchObject({ pairs_done: docs.length, pairs_total: docs.length });
  const all = await cluster.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
  expect(all.status).toBe(200);
  expect(all.body.results[0].scores).toEqual(await expectedScores(query, docs));

  const ofJob = () => receiver.deliveries.filter((d) => d.json?.id === id);
  await waitFor(
    `the webhook of ${id}`,
    async () => ((await cluster.client.get(`/v1/jobs/${id}`)).body.webhook?.state === 'delivered' ? true : undefined),
    60000,
    200,
  );
  // A duplicate would come from a second aggregation or a second enqueue: give it a moment to show.
  await sleep(2000);
  const deliveries = ofJob();
  expect(deliveries).toHaveLength(1);
  expect(deliveries[0].json).toMatchObject({ event: 'job.completed', id, status: 'completed', progress: { pairs_done: docs.length } });
  expect(verifySignature(SECRET, deliveries[0].headers['x-rerank-signature'] as string, deliveries[0].raw)).toMatchObject({ ok: true });
}

describe('faults with fast recovery settings (lock 3 s, stalled check 1 s)', () => {
  let cluster: Cluster;
  const workers: AppProcess[] = [];
  const startWorker = async () => {
    const w = await cluster.startWorker();
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    cluster = await Cluster.start({
      models: [{ name: 'tiny', path: modelDir }],
      persistentRedis: true,
      // Ten kills of one worker may catch the same shard more than the default 5 times.
      // RERANK_REFUSE_UNSERVED=none: the drain tests queue synchronous requests while no worker is live.
      env: {
        RERANK_THREADS: '1',
        RERANK_SHARD_MAX_PAIRS: '100',
        RERANK_MAX_STALLED_COUNT: '50',
        RERANK_REFUSE_UNSERVED: 'none',
        ...WEBHOOK_ENV,
      },
    });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await cluster?.stop();
  });

  it('a job survives its worker SIGKILLed ten times', async () => {
    const docs = makeDocuments(6000, 11, 4, 30);
    const query = 'river market';
    let worker = await startWorker();
    const id = await submit(cluster, query, docs);
    const pairsDone = async () => (await cluster.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done as number;
    let kills = 0;
    let done = 0;
    while (kills < 10) {
      // Kill once this worker has scored something of the job (and holds its next shards).
      const before = done;
      done = await waitFor(
        'progress by the current worker',
        async () => {
          const n = await pairsDone();
          return n > before ? n : undefined;
        },
        60000,
        20,
      );
      expect(done).toBeLessThan(docs.length);
      await worker.kill();
      kills++;
      worker = await startWorker();
    }
    await expectCompleted(cluster, id, query, docs);
    // Every shard ran, those of killed workers more than once.
    const shards = (await cluster.client.get(`/v1/jobs/${id}`)).body.progress.shards_total as number;
    const runs = Object.values(await new JobInspector(cluster.redis.client).shardRuns(id));
    expect(runs).toHaveLength(shards);
    expect(runs.filter((n) => n > 1).length).toBeGreaterThanOrEqual(1);
  });

  it('a job survives Redis SIGKILLed and restarted from its append-only file', async () => {
    if (workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null).length < 2) await startWorker();
    const docs = makeDocuments(4000, 12, 4, 30);
    const query = 'old library';
    const id = await submit(cluster, query, docs);
    await waitFor(
      'some progress',
      async () => ((await cluster.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done >= 400 ? true : undefined),
      60000,
      20,
    );
    await cluster.redis.kill();
    expect((await cluster.client.get('/health/ready')).status).toBe(503);
    await sleep(1500);
    await cluster.redis.restart();
    await expectCompleted(cluster, id, query, docs);
  });

  it('a job survives the aggregator killed during its aggregation', async () => {
    const query = 'harbor station';
    const active = `${BULL_PREFIX}:aggregate:active`;
    let caught: string | undefined;
    const jobs: { id: string; docs: string[] }[] = [];
    // The aggregation takes milliseconds: freeze the aggregator (SIGSTOP) the moment it takes the
    // parent, and check it froze mid-aggregation (the parent still active); else try another job.
    for (let attempt = 0; attempt < 6 && !caught; attempt++) {
      const docs = makeDocuments(3000, 100 + attempt, 4, 30);
      const id = await submit(cluster, query, docs);
      jobs.push({ id, docs });
      const pid = cluster.aggregator.proc.pid!;
      const seen = await waitFor(
        'the aggregation to start',
        async () =>
          (await cluster.redis.client.lrange(active, 0, -1)).includes(id)
            ? true
            : (await new JobInspector(cluster.redis.client).status(id)) === 'completed'
              ? false
              : undefined,
        120000,
        1,
      );
      if (!seen) continue;
      process.kill(pid, 'SIGSTOP');
      await sleep(200);
      if ((await cluster.redis.client.lrange(active, 0, -1)).includes(id)) caught = id;
      process.kill(pid, 'SIGKILL');
      await cluster.restartAggregator();
    }
    expect(caught).toBeDefined();
    for (const j of jobs) await expectCompleted(cluster, j.id, query, j.docs);
  });

  it("SIGTERM to the API with synchronous requests in flight: every one answered 200 with the engine's scores, then the API exits", async () => {
    // No worker: the requests wait in the queue until workers come back after the SIGTERM.
    await Promise.all(workers.map((w) => w.stop()));
    await waitFor('no live workers', async () => ((await cluster.readyWorkers()).length === 0 ? true : undefined), 20000);
    const drainMs = Number(CONFIG_VARS.find((v) => v.name === 'RERANK_DRAIN_TIMEOUT_MS')!.default);
    const requests = Array.from({ length: 6 }, (_, i) => ({ query: `query ${i} river`, documents: makeDocuments(50, 200 + i, 4, 20) }));
    const replies = requests.map((r) => cluster.client.post('/v1/rerank', { model: 'tiny', ...r, top_n: 50, normalize: false }));
    await waitFor(
      'six synchronous requests queued',
      async () => ((await cluster.redis.client.llen(`${BULL_PREFIX}:${QUEUE_SYNC}:wait`)) === 6 ? true : undefined),
      20000,
      20,
    );

    const api = cluster.api;
    const t0 = Date.now();
    api.proc.kill('SIGTERM');
    // It stops accepting at once...
    await waitFor(
      'new connections refused',
      async () => {
        try {
          await fetch(`${cluster.client.base}/health/live`, { signal: AbortSignal.timeout(1000) });
          return undefined;
        } catch {
          return true;
        }
      },
      10000,
      50,
    );
    // ...and answers what it has once a worker scores it.
    await startWorker();
    const answers = await Promise.all(replies);
    const code = await api.exited;
    const exitMs = Date.now() - t0;
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(drainMs);
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      const scores = await expectedScores(requests[i].query, requests[i].documents);
      const byIndex = new Map(a.body.results.map((r: { index: number; relevance_score: number }) => [r.index, r.relevance_score]));
      expect(scores.map((_, d) => byIndex.get(d))).toEqual(scores);
    }
    expect(api.output()).toMatch(/SIGTERM: no new connections; 6 request\(s\) in flight/);
    expect(api.output()).not.toMatch(/got 503/);
    await cluster.restartApi();
  });

  it('SIGTERM to the API: requests still unanswered at RERANK_DRAIN_TIMEOUT_MS get 503 and the API exits then', async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await waitFor('no live workers', async () => ((await cluster.readyWorkers()).length === 0 ? true : undefined), 20000);
    await cluster.api.stop();
    cluster.env = { ...cluster.env, RERANK_DRAIN_TIMEOUT_MS: '1500' };
    const api = await cluster.restartApi();
    const reply = cluster.client.post('/v1/rerank', { model: 'tiny', query: 'q', documents: ['a b', 'c d'] });
    await waitFor(
      'the request queued',
      async () => ((await cluster.redis.client.llen(`${BULL_PREFIX}:${QUEUE_SYNC}:wait`)) >= 1 ? true : undefined),
      20000,
      20,
    );
    const t0 = Date.now();
    api.proc.kill('SIGTERM');
    const r = await reply;
    expect(await api.exited).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('shutting_down');
    expect(r.body.error.message).toMatch(/RERANK_DRAIN_TIMEOUT_MS/);
    expect(api.output()).toMatch(/1 request\(s\) unfinished at the timeout got 503/);
  });
});

describe("a SIGKILLed worker's shard with the DEFAULT lock and stalled-check settings", () => {
  let cluster: Cluster;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    cluster = await Cluster.start({
      models: [{ name: 'tiny', path: modelDir }],
      recovery: 'default',
      env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '100', ...WEBHOOK_ENV },
    });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await cluster?.stop();
  });

  it('is scored by another worker within 15 s of the kill', async () => {
    expect(cluster.env.RERANK_LOCK_DURATION_MS).toBeUndefined();
    expect(cluster.env.RERANK_STALLED_INTERVAL_MS).toBeUndefined();
    const docs = makeDocuments(4000, 13, 4, 30);
    const query = 'forest valley';
    const first = await cluster.startWorker();
    workers.push(first);
    const id = await submit(cluster, query, docs);
    await waitFor(
      'progress',
      async () => ((await cluster.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done > 0 ? true : undefined),
      60000,
      20,
    );
    await first.kill();
    const killedAt = Date.now();
    // Only the killed worker ran: what is active now are its shards, mid-scoring.
    const orphans = await cluster.redis.client.lrange(`${BULL_PREFIX}:${QUEUE_SHARDS}:active`, 0, -1);
    expect(orphans.length).toBeGreaterThanOrEqual(1);
    workers.push(await cluster.startWorker());
    // A shard's BullMQ job is removed once it completed (removeOnComplete; a failed one stays).
    const finishedMs = await waitFor(
      "the killed worker's shards scored by the other",
      async () => {
        const left = await cluster.redis.client.exists(...orphans.map((o) => `${BULL_PREFIX}:${QUEUE_SHARDS}:${o}`));
        return left === 0 ? Date.now() - killedAt : undefined;
      },
      60000,
      100,
    );
    console.log(`default settings: the killed worker's ${orphans.length} shard(s) were scored again ${finishedMs} ms after the kill`);
    expect(finishedMs).toBeLessThan(15000);
    await expectCompleted(cluster, id, query, docs);
  });
});
