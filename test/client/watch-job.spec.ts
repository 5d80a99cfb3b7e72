/**
 * Watching a job (GET /v1/jobs/{id}/events) through the typed client's `watchJob` and through
 * `rerank jobs watch`, on real processes (Redis, API, aggregator, one CPU worker stopped and let go
 * in bursts with SIGSTOP / SIGCONT so the job is seen mid-way): events in order ending in the final
 * event equal to GET .../results, provisional best k before it, a stream cut by killing the API
 * resumed without a lost or repeated state, an abort, the HTTP errors, and the command's JSON lines,
 * exit statuses and live terminal view.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type JobEvent, JobTopK, RerankApiError, RerankClient } from '@rerank/client';
import type { AppProcess } from '@rerank/harness';
import { Cluster } from '../support/cluster';
import { testEncoderDir } from '../support/model';

jest.setTimeout(180000);

const KEY = 'watch-key-0123';
const BIN = join(__dirname, '..', '..', 'bin', 'rerank.js');

const QUERIES = ['capital of france', 'fast rerankers on gpus', 'how tokenizers split words'];
const DOCS = Array.from({ length: 96 }, (_, i) => ({
  id: `d${i}`,
  text: `document ${i}: ${['paris is the capital', 'gpus run rerankers', 'tokenizers split text', 'unrelated words'][i % 4]} ${'lorem ipsum '.repeat(i % 7)}`,
}));
const BODY = { queries: QUERIES.map((query, i) => ({ id: `q${i}`, query })), documents: DOCS, top_k: 5 };

let cluster: Cluster;
let client: RerankClient;
let worker: AppProcess;
let cliEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  cluster = await Cluster.start({
    models: [{ name: 'enc', path: await testEncoderDir() }],
    env: {
      RERANK_API_KEYS: `watcher:${KEY}`,
      RERANK_REFUSE_UNSERVED: 'sync',
      RERANK_EVENTS_INTERVAL_MS: '100',
      RERANK_SHARD_MAX_PAIRS: '8',
      RERANK_WORKER_CONCURRENCY: '1',
      RERANK_THREADS: '1',
    },
    recovery: 'default',
  });
  client = new RerankClient({ baseUrl: cluster.base, apiKey: KEY });
  cliEnv = { ...process.env, RERANK_URL: cluster.base, RERANK_API_KEY: KEY };
  delete cliEnv.NODE_OPTIONS;
  worker = await cluster.startWorker();
  worker.proc.kill('SIGSTOP');
});

afterAll(async () => {
  // The cluster stops its workers (paused ones too) before Redis.
  await cluster?.stop();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lets the worker score for `ms`, then stops it again; what it did reaches the watchers within a tick or two. */
async function burst(ms: number): Promise<void> {
  worker.proc.kill('SIGCONT');
  await pause(ms);
  worker.proc.kill('SIGSTOP');
  await pause(300);
}

/** Bursts until `seen()` holds. */
async function burstUntil(seen: () => boolean, what: string): Promise<void> {
  for (let rounds = 0; !seen(); rounds++) {
    if (rounds >= 60) throw new Error(`${what} not seen after 60 bursts`);
    await burst(40);
  }
}

/** Consumes `watchJob` in the background, keeping every event. */
function collect(events: AsyncIterable<JobEvent>): { events: JobEvent[]; done: Promise<void> } {
  const out: JobEvent[] = [];
  const done = (async () => {
    for await (const e of events) out.push(e);
  })();
  return { events: out, done };
}

const order = (id: string) => id.split('-').map(Number);
const compareIds = (a: string, b: string) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1];
/** The event ids in stream order, "end" left out. */
const ids = (events: readonly JobEvent[]) => events.map((e) => e.id).filter((x): x is string => x !== null && x !== 'end');
/** Each query's top k without documents' texts (as partial events have them). */
const tops = (queries: readonly { query_index: number; top_k: readonly Record<string, unknown>[] }[]) =>
  new Map(queries.map((q) => [q.query_index, q.top_k.map(({ document: _d, ...r }) => r)]));

async function submit(): Promise<{ id: string; shards: number }> {
  const job = await client.submitJob(BODY);
  return { id: job.id, shards: job.progress.shards_total };
}

describe('client: watchJob', () => {
  it('yields progress and provisional best k in order, then the completed event equal to GET results, and ends', async () => {
    const { id, shards } = await submit();
    expect(shards).toBeGreaterThanOrEqual(30);
    const watch = collect(client.watchJob(id));
    await burstUntil(() => watch.events.filter((e) => e.event === 'partial').length >= 2, 'two partial events');
    worker.proc.kill('SIGCONT');
    await watch.done;
    worker.proc.kill('SIGSTOP');
    const results = await client.results(id);

    const { events } = watch;
    const final = events[events.length - 1];
    expect(final.event).toBe('completed');
    expect(final.id).toBe('end');
    if (final.event !== 'completed') throw new Error('unreachable');
    expect(final.data.results).toEqual(results.results);
    expect(final.data.job).toMatchObject({ id, status: 'completed', progress: { shards_done: shards, shards_total: shards } });
    expect(events.filter((e) => e.event === 'completed' || e.event === 'failed' || e.event === 'cancelled')).toHaveLength(1);

    // Provisional states before the end; folded, the last of them is the final top k.
    const partials = events.flatMap((e) => (e.event === 'partial' ? [e.data] : []));
    expect(partials.some((p) => p.provisional && p.shards_done < shards)).toBe(true);
    const provisional = new JobTopK();
    for (const e of events.slice(0, -1)) provisional.apply(e);
    expect(provisional.final).toBe(false);
    expect(tops(provisional.queries())).toEqual(tops(results.results));
    const folded = new JobTopK().apply(final);
    expect(folded.final).toBe(true);
    expect(folded.get(0)).toEqual(results.results[0].top_k);

    // Progress only rises and ends at every pair; ids rise along the stream, each once.
    const progress = events.flatMap((e) => (e.event === 'progress' ? [e.data] : []));
    expect(progress.map((p) => p.shards_done)).toEqual([...progress.map((p) => p.shards_done)].sort((a, b) => a - b));
    expect(progress[progress.length - 1]).toMatchObject({ shards_done: shards, pairs_done: QUERIES.length * DOCS.length });
    expect(ids(events)).toEqual([...ids(events)].sort(compareIds));
    expect(new Set(ids(events)).size).toBe(ids(events).length);

    // The job has ended: a new watch gets the final event alone; resuming after it gets nothing.
    const late = collect(client.watchJob(id));
    await late.done;
    expect(late.events).toEqual([final]);
    const over = collect(client.watchJob(id, { lastEventId: 'end' }));
    await over.done;
    expect(over.events).toEqual([]);
  });

  it('resumes a stream cut by the API being killed, with Last-Event-ID: no state lost or repeated', async () => {
    const { id } = await submit();
    const reconnects: string[] = [];
    const watch = collect(client.watchJob(id, { onReconnect: (attempt, cause) => reconnects.push(`${attempt}: ${cause.message}`) }));
    await burstUntil(() => watch.events.some((e) => e.event === 'partial'), 'a partial event');
    const beforeCut = watch.events.length;
    const lastBefore = ids(watch.events).pop() as string;
    // SIGKILL: the connection is cut, no final event; the client reconnects to the new process after
    // the stream's retry delay (2 s). The worker stays stopped until then, so the resumed stream has
    // more than the final event to carry.
    await cluster.restartApi();
    let seen = 0;
    while (reconnects.length === 0 || reconnects.length > seen) {
      seen = reconnects.length;
      await pause(3000);
    }
    await burstUntil(() => watch.events.slice(beforeCut).some((e) => e.event === 'partial'), 'a partial event after the cut');
    worker.proc.kill('SIGCONT');
    await watch.done;
    worker.proc.kill('SIGSTOP');
    expect(reconnects.length).toBeGreaterThanOrEqual(1);

    const results = await client.results(id);
    const { events } = watch;
    const final = events[events.length - 1];
    expect(final.event).toBe('completed');
    if (final.event !== 'completed') throw new Error('unreachable');
    expect(final.data.results).toEqual(results.results);
    // Nothing at or before the cut came again, and after it each query listed had changed: nothing repeated.
    const after = events.slice(beforeCut);
    expect(after.some((e) => e.event === 'partial')).toBe(true);
    for (const x of ids(after)) expect(compareIds(x, lastBefore)).toBeGreaterThan(0);
    expect(new Set(ids(events)).size).toBe(ids(events).length);
    const state = new JobTopK();
    for (const e of events.slice(0, beforeCut)) state.apply(e);
    for (const e of after.slice(0, -1)) {
      if (e.event === 'partial') for (const q of e.data.results) expect(q.top_k).not.toEqual(state.get(q.query_index));
      state.apply(e);
    }
    // Nothing lost: the two parts together hold the final top k.
    expect(tops(state.queries())).toEqual(tops(results.results));
  });

  it('ends with the abort of its signal; HTTP errors are RerankApiError', async () => {
    const { id } = await submit();
    const controller = new AbortController();
    const watch = collect(client.watchJob(id, { signal: controller.signal }));
    await pause(500);
    const aborted = Date.now();
    controller.abort();
    const error = await watch.done.then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.name).toBe('AbortError');
    expect(Date.now() - aborted).toBeLessThan(2000);
    expect(watch.events).toEqual([]);
    await client.cancelJob(id);

    const missing = collect(client.watchJob('job_doesnotexist0000000000'));
    await expect(missing.done).rejects.toBeInstanceOf(RerankApiError);
    await expect(missing.done).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const wrongKey = collect(new RerankClient({ baseUrl: cluster.base, apiKey: 'not-a-key-0000' }).watchJob(id));
    await expect(wrongKey.done).rejects.toMatchObject({ status: 401 });
    const badId = collect(client.watchJob(id, { lastEventId: 'yesterday' }));
    await expect(badId.done).rejects.toMatchObject({ status: 400, code: 'invalid_last_event_id', field: 'Last-Event-ID' });
  });
});

/** `rerank jobs watch <id>` as a process: stdout piped, or on a pseudo-terminal through `script`. */
function runWatch(id: string, tty = false): { output: () => string; exit: Promise<number | null> } {
  const argv = [BIN, 'jobs', 'watch', id];
  const shell = [process.execPath, ...argv].map((a) => JSON.stringify(a)).join(' ');
  const p = tty
    ? spawn('script', ['-qec', shell, '/dev/null'], { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  p.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
  return { output: () => out + err, exit };
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; id: string | null; data: any });

describe('CLI: rerank jobs watch', () => {
  it('piped: one JSON line per event, partial before the end, ending with completed equal to GET results; exit 0', async () => {
    const { id, shards } = await submit();
    const watch = runWatch(id);
    await burstUntil(() => watch.output().includes('"event":"partial"'), 'a partial line');
    worker.proc.kill('SIGCONT');
    const code = await watch.exit;
    worker.proc.kill('SIGSTOP');
    expect(code).toBe(0);
    const events = lines(watch.output());
    for (const e of events) expect(Object.keys(e)).toEqual(['event', 'id', 'data']);
    const final = events[events.length - 1];
    expect(final).toMatchObject({ event: 'completed', id: 'end', data: { job: { id, status: 'completed' } } });
    expect(final.data.results).toEqual((await client.results(id)).results);
    expect(events.some((e) => e.event === 'partial' && e.data.shards_done < shards)).toBe(true);
    expect(events.filter((e) => e.event === 'progress').length).toBeGreaterThanOrEqual(1);
  });

  it('piped: a cancelled job ends with the cancelled line and exit 1; an unknown job exits 2 naming it', async () => {
    const { id } = await submit();
    const watch = runWatch(id);
    await pause(1500);
    await client.cancelJob(id);
    expect(await watch.exit).toBe(1);
    const events = lines(watch.output());
    expect(events[events.length - 1]).toMatchObject({
      event: 'cancelled',
      id: 'end',
      data: { job: { id, status: 'cancelled' }, results: null },
    });

    const missing = runWatch('job_doesnotexist0000000000');
    expect(await missing.exit).toBe(2);
    expect(missing.output()).toMatch(/rerank jobs: GET \/v1\/jobs\/job_doesnotexist0000000000\/events: 404 not_found/);
  });

  it('on a terminal: a live view with provisional best results, redrawn in place, then the final state; exit 0', async () => {
    const { id, shards } = await submit();
    const watch = runWatch(id, true);
    await burstUntil(() => /query 0 \(q0\), provisional: 1\. d\d+ /.test(watch.output()), 'a provisional top');
    worker.proc.kill('SIGCONT');
    const code = await watch.exit;
    worker.proc.kill('SIGSTOP');
    expect(code).toBe(0);
    const out = watch.output();
    const results = await client.results(id);
    const best = results.results[0].top_k[0];
    // Redrawn in place: the cursor goes back up over the previous drawing and clears it.
    expect(out).toMatch(/\x1b\[\d+F\x1b\[J/);
    expect(out).toMatch(/[█░]{30} \d+\/\d+ shards · [\d,]+\/288 pairs/);
    expect(out).toContain(`job ${id} completed`);
    expect(out).toContain(`query 0 (q0), final: 1. ${String(best.id)} ${best.score?.toFixed(4)}`);
    expect(out).toContain(`${shards}/${shards} shards · 288/288 pairs`);
  });
});
