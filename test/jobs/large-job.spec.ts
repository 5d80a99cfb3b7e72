/**
 * The issue's acceptance tests for large jobs, with real processes on a real Redis:
 * - 10,000 documents x 3 queries complete; top-k and ?all=true scores equal the engine's in-process
 *   scores exactly; progress moves from 0 to the total; wall time with one and with two workers;
 * - two workers SIGKILLed mid-job: the job still completes, every pair scored once, same results.
 * Each test starts the workers it needs and checks against the engine's scores, so any one of them
 * runs alone (`-t`) or in any order.
 */
import { RedisWorkersRegistry } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { makeDocuments, QUERIES } from '../support/data';
import { testEncoderDir, removeTestModels, referenceEngine } from '../support/model';
import { waitFor } from '../support/processes';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(300000);

const DOCS = makeDocuments(10000, 2024, 4, 48);
const BODY = { model: 'tiny', queries: QUERIES.map((query, i) => ({ id: `q${i}`, query })), documents: DOCS, top_k: 10 };
const PAIRS = QUERIES.length * DOCS.length;

let cluster: Cluster;
/** reference[q][d]: the engine's score of (QUERIES[q], DOCS[d]) in this process. */
let reference: number[][];
const timings: Record<string, number> = {};
/** Jobs a test created: cancelled after it, so a failed test leaves no shards queued for the next one. */
const created: string[] = [];

/** Exactly these workers (a launcher with `devices`), whatever ran before. */
async function useWorkers(devices: string): Promise<void> {
  if (cluster.launcher) await cluster.stopWorkers();
  await cluster.startWorkers(devices);
}

function expectedTop(q: number, k: number) {
  const scores = reference[q];
  return scores
    .map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k)
    .map(({ index, score }) => ({ index, score, document: { text: DOCS[index] } }));
}

interface RunReport {
  id: string;
  view: any;
  progress: number[];
  postMs: number;
  wallMs: number;
}

async function runJob(onProgress?: (pairsDone: number, view: any) => Promise<void>): Promise<RunReport> {
  const t0 = Date.now();
  const post = await cluster.client.post('/v1/jobs', BODY);
  const postMs = Date.now() - t0;
  expect(post.status).toBe(202);
  created.push(post.body.id);
  const progress: number[] = [post.body.progress.pairs_done];
  const view = await cluster.client.waitJob(
    post.body.id,
    240000,
    (v) => {
      progress.push(v.progress.pairs_done);
      void onProgress?.(v.progress.pairs_done, v);
    },
    100,
  );
  return { id: post.body.id, view, progress, postMs, wallMs: Date.now() - t0 };
}

/** `?all=true` as the API streams it for these scores: query by query, in document order. */
function expectedLines(): string {
  let text = '';
  reference.forEach((scores, q) => {
    scores.forEach((score, index) => (text += `${JSON.stringify({ query_index: q, query_id: `q${q}`, index, score })}\n`));
  });
  return text;
}

/** Results equal the engine's scores exactly, top-k and every score (each pair exactly once). */
async function checkResults(id: string): Promise<void> {
  const res = await cluster.client.get(`/v1/jobs/${id}/results`);
  expect(res.status).toBe(200);
  expect(res.body.results).toHaveLength(3);
  res.body.results.forEach((q: any, i: number) => {
    expect(q.query_index).toBe(i);
    expect(q.query_id).toBe(`q${i}`);
    expect(q.top_k).toEqual(expectedTop(i, 10));
  });

  const all = await fetch(`${cluster.client.base}/v1/jobs/${id}/results?all=true`);
  expect(all.headers.get('content-type')).toMatch(/application\/x-ndjson/);
  const text = await all.text();
  expect(text.trimEnd().split('\n').length).toBe(PAIRS);
  // Compared line by line: a mismatch names the first differing line instead of printing 1.3 MB twice.
  expect(firstDifference(text, expectedLines())).toBe('none');
}

function firstDifference(got: string, want: string): string {
  if (got === want) return 'none';
  const g = got.split('\n');
  const w = want.split('\n');
  const at = w.findIndex((line, i) => g[i] !== line);
  return at < 0 ? `${g.length - w.length} extra line(s) at the end` : `line ${at + 1}: got ${g[at]}, want ${w[at]}`;
}

function checkProgress(r: RunReport): void {
  expect(r.view.status).toBe('completed');
  expect(r.view.progress).toEqual({ shards_done: r.view.progress.shards_total, shards_total: 30, pairs_done: PAIRS, pairs_total: PAIRS });
  expect(r.progress[0]).toBe(0);
  expect(r.progress[r.progress.length - 1]).toBe(PAIRS);
  // Never backwards, and seen strictly between 0 and the total along the way.
  for (let i = 1; i < r.progress.length; i++) expect(r.progress[i]).toBeGreaterThanOrEqual(r.progress[i - 1]);
  expect(r.progress.filter((p) => p > 0 && p < PAIRS).length).toBeGreaterThan(3);
}

beforeAll(async () => {
  const dir = await testEncoderDir();
  const t = Date.now();
  const engine = await referenceEngine(dir);
  reference = [];
  for (const q of QUERIES) reference.push(await engine.computeScore(DOCS.map((d) => [q, d] as [string, string])));
  await engine.close();
  timings.inProcessMs = Date.now() - t;
  // One runtime thread per worker process: for this tiny model more processes pay, more threads do not.
  cluster = await Cluster.start({ models: [{ name: 'tiny', path: dir }], env: { RERANK_THREADS: '1' } });
});

afterEach(async () => {
  for (const id of created.splice(0)) await cluster.client.del(`/v1/jobs/${id}`);
});

afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
  console.log(`large job timings (ms): ${JSON.stringify(timings)}`);
});

describe('a 10,000-document job with three queries', () => {
  it('completes with one worker; scores equal the engine in-process; progress 0 -> total', async () => {
    await useWorkers('cpu');
    const r = await runJob();
    timings.postOneWorkerMs = r.postMs;
    timings.oneWorkerWallMs = r.wallMs;
    timings.oneWorkerServerMs = r.view.timings.total_ms;
    expect(r.postMs).toBeLessThan(2000);
    checkProgress(r);
    await checkResults(r.id);
  });

  it('completes with two workers, same results; a synchronous request meanwhile goes first', async () => {
    await useWorkers('cpu,cpu');
    let syncMs: Promise<number> | undefined;
    const r = await runJob(async (done) => {
      if (syncMs || done === 0) return;
      syncMs = (async () => {
        const t = Date.now();
        const s = await cluster.client.post('/v1/rerank', {
          model: 'tiny',
          query: 'omega',
          documents: DOCS.slice(0, 20),
          normalize: false,
        });
        expect(s.status).toBe(200);
        expect(s.body.results[0].relevance_score).toBe(Math.max(...reference[2].slice(0, 20)));
        return Date.now() - t;
      })();
    });
    // Sync jobs carry no priority, shards do: it waits for a shard in progress at most, not for the queue.
    timings.syncDuringJobMs = await (syncMs as Promise<number>);
    expect(timings.syncDuringJobMs).toBeLessThan(5000);
    timings.postTwoWorkersMs = r.postMs;
    timings.twoWorkersWallMs = r.wallMs;
    timings.twoWorkersServerMs = r.view.timings.total_ms;
    checkProgress(r);
    await checkResults(r.id);
  });

  it('survives two workers SIGKILLed mid-job: every pair scored once, same results', async () => {
    // Kill a worker busy on a shard at ~20% and again at ~55%.
    await useWorkers('cpu,cpu');
    const registry = new RedisWorkersRegistry(cluster.redis.client);
    const killed: number[] = [];
    let killing = false;
    const killBusy = async (jobId: string) => {
      const busy = await waitFor(
        'a worker busy on the job',
        async () => (await registry.live()).find((w) => w.current === jobId && !killed.includes(w.pid)),
        20000,
        20,
      );
      process.kill(busy.pid, 'SIGKILL');
      killed.push(busy.pid);
    };
    const r = await runJob(async (done, view) => {
      if (killing) return;
      if ((killed.length === 0 && done >= 0.2 * PAIRS) || (killed.length === 1 && done >= 0.55 * PAIRS)) {
        killing = true;
        await killBusy(view.id);
        killing = false;
      }
    });
    expect(killed).toHaveLength(2);
    timings.killedTwiceWallMs = r.wallMs;
    checkProgress(r);
    // Shards of killed workers ran again (runs > 1); progress counted each shard once (checked above).
    const runs = await new JobInspector(cluster.redis.client).shardRuns(r.id);
    const reruns = Object.values(runs).filter((n) => n > 1).length;
    console.log(`killed worker pids ${killed.join(', ')}; shards run again: ${reruns}`);
    expect(Object.keys(runs)).toHaveLength(30);
    expect(reruns).toBeGreaterThanOrEqual(1);
    await checkResults(r.id);
    // The launcher replaced the killed workers.
    await waitFor('two workers again', async () => ((await cluster.readyWorkers()).length === 2 ? true : undefined), 30000);
    expect(cluster.launcher?.output()).toMatch(/exited \(SIGKILL\); restarting in/);
  });
});
