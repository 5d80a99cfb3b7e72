/**
 * Two nodes on one Redis: two worker launchers with device lists of their own (node A: cpu,cpu; node
 * B: cpu), each with its own HEALTH_PORT, as two machines would run them. Node A is lost mid-job (its
 * launcher and its workers SIGKILLed at once, as a machine that goes down); node B finishes the job,
 * whose every score equals the in-process engine's.
 */
import { type FlagReranker } from '@rerank/engine';
import { freePort } from '@rerank/harness';
import type { WorkerHeartbeat } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir, referenceEngine } from '../support/model';
import { type AppProcess, spawnApp, waitFor, waitForHttp } from '../support/processes';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(300000);

interface Node {
  name: string;
  launcher: AppProcess;
  health: string;
  /** Pids of its workers (from its /health/ready). */
  workerPids: number[];
}

let modelDir: string;
let engine: FlagReranker;
let cluster: Cluster;
const nodes: Node[] = [];

/** A launcher as one node: its own devices and health port, the cluster's Redis and models. */
async function startNode(name: string, devices: string): Promise<Node> {
  const port = await freePort();
  const launcher = spawnApp('launcher', { ...cluster.env, HEALTH_PORT: String(port), RERANK_DEVICES: devices, RERANK_THREADS: '1' });
  const health = `http://127.0.0.1:${port}`;
  const node: Node = { name, launcher, health, workerPids: [] };
  nodes.push(node);
  await waitForHttp(`${health}/health/ready`, 200, 120000, launcher);
  const ready = (await (await fetch(`${health}/health/ready`)).json()) as { workers: { device: string; pid: number; ready: boolean }[] };
  expect(ready.workers.map((w) => [w.device, w.ready])).toEqual(devices.split(',').map((d) => [d, true]));
  node.workerPids = ready.workers.map((w) => w.pid);
  return node;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const beatsOf = (beats: WorkerHeartbeat[], node: Node) => beats.filter((b) => node.workerPids.includes(b.pid));

beforeAll(async () => {
  modelDir = await testEncoderDir();
  engine = await referenceEngine(modelDir);
  // Small shards, so both nodes hold some of the job at once.
  cluster = await Cluster.start({ models: [{ name: 'tiny', path: modelDir }], env: { RERANK_SHARD_MAX_PAIRS: '100' } });
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.launcher.stop(60000)));
  for (const n of nodes) for (const pid of n.workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await cluster?.stop();
  await engine?.close();
  removeTestModels();
});

it('a job completes with identical scores when one of two nodes is SIGKILLed mid-job', async () => {
  const a = await startNode('node A', 'cpu,cpu');
  const b = await startNode('node B', 'cpu');
  await waitFor('three workers in the registry', async () => ((await cluster.readyWorkers()).length === 3 ? true : undefined), 30000);
  expect(new Set([...a.workerPids, ...b.workerPids]).size).toBe(3);

  const docs = makeDocuments(16000, 21, 10, 60);
  const query = 'harbor station near the old market';
  const created = await cluster.client.post('/v1/jobs', { model: 'tiny', query, documents: docs, top_k: 10 });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  const shards = created.body.progress.shards_total as number;
  expect(shards).toBeGreaterThanOrEqual(160);

  // All three workers take shards as soon as the job is queued (two at once each): once some are
  // scored, node A holds shards of the job.
  const progressAtKill = await waitFor(
    'the job under way',
    async () => {
      const done = (await cluster.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done as number;
      return done > 0 ? done : undefined;
    },
    120000,
    20,
  );
  expect(progressAtKill).toBeLessThan(docs.length / 2);

  // Node A goes down: its workers and its launcher at once (the launcher cannot restart them).
  for (const pid of a.workerPids) process.kill(pid, 'SIGKILL');
  await a.launcher.kill();
  expect(await a.launcher.exited).toBe(-1);
  await waitFor("node A's workers gone", () => (a.workerPids.every((pid) => !alive(pid)) ? true : undefined), 10000);
  const bBefore = beatsOf(await cluster.workers(), b)[0]?.pairsScored ?? 0;

  const view = await cluster.client.waitJob(id, 240000, undefined, 200);
  expect(view.status).toBe('completed');
  expect(view.progress).toMatchObject({ shards_done: shards, shards_total: shards, pairs_done: docs.length, pairs_total: docs.length });

  // Every score equals the engine's in this process, in document order; the top-k is its best ten.
  const all = await cluster.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
  expect(all.status).toBe(200);
  const expected = await engine.computeScore(docs.map((d) => [query, d] as [string, string]));
  expect(all.body.results[0].scores).toEqual(expected);
  const best = expected
    .map((score, index) => ({ index, score }))
    .sort((x, y) => y.score - x.score || x.index - y.index)
    .slice(0, 10);
  expect(all.body.results[0].top_k.map((r: { index: number; score: number }) => ({ index: r.index, score: r.score }))).toEqual(best);

  // Node B scored the rest; node A's heartbeats lapse; every shard ran.
  await waitFor(
    'node A out of the registry',
    async () => {
      const beats = await cluster.workers();
      return beatsOf(beats, a).length === 0 ? beats : undefined;
    },
    20000,
    200,
  );
  const bAfter = beatsOf(await cluster.workers(), b)[0].pairsScored;
  expect(bAfter).toBeGreaterThan(bBefore);
  const runs = Object.values(await new JobInspector(cluster.redis.client).shardRuns(id));
  expect(runs).toHaveLength(shards);
  expect(runs.every((n) => n >= 1)).toBe(true);
  // Shards node A was scoring when it went down came back (its locks lapsed) and ran again on node B.
  expect(runs.filter((n) => n > 1).length).toBeGreaterThanOrEqual(1);
  // Node B's health still answers ready; node A's port is closed.
  expect((await fetch(`${b.health}/health/ready`)).status).toBe(200);
  await expect(fetch(`${a.health}/health/live`)).rejects.toThrow();
});
