/**
 * GET /v1/jobs/{id}/events on real processes (redis-server, two API replicas, aggregator, one worker
 * paused and resumed with SIGSTOP / SIGCONT so the job is seen mid-way): provisional best-k events
 * before the end whose last state equals the results, the final event equal to GET .../results,
 * streams resumed with Last-Event-ID on the same and on the other replica without a lost or
 * repeated state, a stream opened after the end, heartbeats, and the errors a client can cause.
 */
import { spawnApp, waitForHttp } from '../support/processes';
import { freePort, type AppProcess } from '@rerank/harness';
import { Cluster } from '../support/cluster';
import { ApiClient } from '../support/http';
import { testEncoderDir } from '../support/model';
import { applyPartials, openSse, type ReadEvent, type SseStream } from '../support/sse';
import {
  burst as burstOf,
  pause,
  WATCH_BODY as BODY,
  WATCH_DOCS as DOCS,
  WATCH_ENV as ENV,
  WATCH_QUERIES as QUERIES,
} from '../support/watched-job';

jest.setTimeout(180000);

let cluster: Cluster;
let second: AppProcess;
let api2: ApiClient;
let worker: AppProcess;
const burst = (ms: number) => burstOf(worker, ms);

beforeAll(async () => {
  cluster = await Cluster.start({ models: [{ name: 'enc', path: await testEncoderDir() }], env: ENV, recovery: 'default' });
  const port = await freePort();
  second = spawnApp('api', { ...cluster.env, PORT: String(port) });
  await waitForHttp(`http://127.0.0.1:${port}/health/live`, 200, 30000, second);
  api2 = new ApiClient(`http://127.0.0.1:${port}`);
  worker = await cluster.startWorker();
  worker.proc.kill('SIGSTOP');
});

afterAll(async () => {
  // The cluster stops its workers (paused ones too) before Redis.
  await second?.stop();
  await cluster?.stop();
});

const ranked = (top: any[]) => top.map(({ document: _d, ...r }) => r);
const finalTops = (final: ReadEvent) => new Map<number, any[]>(final.data.results.map((q: any) => [q.query_index, ranked(q.top_k)]));
const idOrder = (id: string) => id.split('-').map(Number);
const after = (a: string, b: string) => {
  const [x, y] = [idOrder(a), idOrder(b)];
  return x[0] - y[0] || x[1] - y[1];
};

/** Every step of every query's provisional top-k only improves: an entry leaves only for a better one. */
function expectOnlyImproves(events: readonly ReadEvent[]): void {
  const state = new Map<number, any[]>();
  for (const e of events) {
    if (e.event !== 'partial') continue;
    for (const q of e.data.results) {
      const before = state.get(q.query_index) ?? [];
      const now: any[] = q.top_k;
      const worst = now[now.length - 1];
      for (const old of before) {
        if (now.some((r) => r.index === old.index)) continue;
        // Left the top-k: something at least as good took its place.
        expect(old.score < worst.score || (old.score === worst.score && old.index > worst.index)).toBe(true);
      }
      expect(now.length).toBeGreaterThanOrEqual(before.length);
      state.set(q.query_index, now);
    }
  }
}

async function createJob(): Promise<{ id: string; shards: number }> {
  const created = await cluster.client.post('/v1/jobs', BODY);
  expect(created.status).toBe(202);
  return { id: created.body.id, shards: created.body.progress.shards_total };
}

describe('job events (Server-Sent Events)', () => {
  it('streams provisional best-k before completion, ending in a final event equal to the results, on both replicas; resumes without loss or repeat', async () => {
    const { id, shards } = await createJob();
    expect(shards).toBeGreaterThanOrEqual(30);
    const path = `/v1/jobs/${id}/events`;
    const a = await openSse(`${cluster.base}${path}`);
    const b = await openSse(`${api2.base}${path}`);
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    // Nothing scored yet: only heartbeats.
    await pause(800);
    expect(a.events).toEqual([]);
    expect(a.comments.length).toBeGreaterThanOrEqual(1);
    expect(b.comments.length).toBeGreaterThanOrEqual(1);

    // Some shards, then a cut of two watchers, one of each replica.
    const c = await openSse(`${cluster.base}${path}`);
    const d = await openSse(`${api2.base}${path}`);
    let rounds = 0;
    while (!c.events.some((e) => e.event === 'partial') || !d.events.some((e) => e.event === 'partial')) {
      await burst(40);
      if (++rounds > 50) throw new Error('no partial event after 50 bursts');
    }
    const cut = async (s: SseStream) => {
      s.close();
      await s.ended;
      return { events: [...s.events], last: s.events[s.events.length - 1].lastId as string };
    };
    const cCut = await cut(c);
    const dCut = await cut(d);
    const progressAtCut = (e: ReadEvent[]) => e.filter((x) => x.event === 'progress').pop()?.data.shards_done as number;
    expect(progressAtCut(cCut.events)).toBeLessThan(shards);
    // More is scored while they are away.
    await burst(60);
    // Each resumes on the other replica.
    const c2 = await openSse(`${api2.base}${path}`, { 'last-event-id': cCut.last });
    const d2 = await openSse(`${cluster.base}${path}`, { 'last-event-id': dCut.last });

    worker.proc.kill('SIGCONT');
    const finals = await Promise.all([a, b, c2, d2].map((s) => s.until((e) => e.event === 'completed')));
    await Promise.all([a, b, c2, d2].map((s) => s.ended));
    const results = await cluster.client.get(`/v1/jobs/${id}/results`);
    expect(results.status).toBe(200);

    console.log(
      `${shards} shards, ${rounds} burst(s) before the cut; events per stream (a, b, c before/after the cut, d before/after): ` +
        [a.events, b.events, cCut.events, c2.events, dCut.events, d2.events]
          .map(
            (e) => `${e.filter((x) => x.event === 'progress').length} progress + ${e.filter((x) => x.event === 'partial').length} partial`,
          )
          .join('; '),
    );
    for (const [stream, final] of [a, b, c2, d2].map((s, i) => [s, finals[i]] as const)) {
      // The final event is the last one, id "end", its results exactly GET .../results's.
      expect(stream.events[stream.events.length - 1]).toBe(final);
      expect(final.id).toBe('end');
      expect(final.data.results).toEqual(results.body.results);
      expect(final.data.job).toMatchObject({ id, status: 'completed', progress: { shards_done: shards, shards_total: shards } });
      expectOnlyImproves(stream.events);
    }
    for (const s of [a, b]) {
      // Provisional states came before the end, and the last one is the final top-k.
      const partials = s.events.filter((e) => e.event === 'partial');
      expect(partials.length).toBeGreaterThanOrEqual(2);
      expect(partials.some((e) => e.data.provisional === true && e.data.shards_done < shards)).toBe(true);
      expect(applyPartials(s.events)).toEqual(finalTops(s.events[s.events.length - 1]));
      const progress = s.events.filter((e) => e.event === 'progress').map((e) => e.data);
      expect(progress.map((p) => p.shards_done)).toEqual([...progress.map((p) => p.shards_done)].sort((x, y) => x - y));
      expect(progress[progress.length - 1]).toMatchObject({
        shards_done: shards,
        pairs_done: QUERIES.length * DOCS.length,
        eta_seconds: 0,
      });
      expect(progress[progress.length - 1].pairs_per_second).toBeGreaterThan(0);
      // Event ids increase along the stream.
      const ids = s.events.map((e) => e.id).filter((x): x is string => x !== null && x !== 'end');
      expect([...ids].sort(after)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    }
    for (const [before, resumed] of [
      [cCut, c2],
      [dCut, d2],
    ] as const) {
      // Nothing at or before the cut again; together the two parts hold the final state: nothing lost.
      for (const e of resumed.events) if (e.id !== null && e.id !== 'end') expect(after(e.id, before.last)).toBeGreaterThan(0);
      const state = applyPartials(before.events);
      for (const e of resumed.events.filter((x) => x.event === 'partial')) {
        // Each query sent again changed since the watcher's last state: no state repeated.
        for (const q of e.data.results) expect(q.top_k).not.toEqual(state.get(q.query_index));
        applyPartials([e], state);
      }
      expect(state).toEqual(finalTops(resumed.events[resumed.events.length - 1]));
      const firstProgress = resumed.events.find((e) => e.event === 'progress');
      expect(firstProgress?.data.shards_done).toBeGreaterThan(progressAtCut(before.events));
    }

    // After the end: the final event at once; sending its id back: 204 (EventSource stops reconnecting).
    const late = await openSse(`${cluster.base}${path}`);
    await late.ended;
    expect(late.events.map((e) => [e.event, e.id])).toEqual([['completed', 'end']]);
    expect(late.events[0].data.results).toEqual(results.body.results);
    const over = await openSse(`${api2.base}${path}`, { 'last-event-id': 'end' });
    await over.ended;
    expect(over.status).toBe(204);
    expect(over.raw()).toBe('');
  });

  it('ends with cancelled when the job is cancelled while watched', async () => {
    worker.proc.kill('SIGSTOP');
    const { id } = await createJob();
    const w = await openSse(`${api2.base}/v1/jobs/${id}/events`);
    const cancel = await cluster.client.del(`/v1/jobs/${id}`);
    expect(cancel.status).toBe(200);
    const end = await w.until((e) => e.event === 'cancelled', 10000);
    await w.ended;
    expect(end.id).toBe('end');
    expect(end.data).toMatchObject({ job: { id, status: 'cancelled' }, results: null });
    worker.proc.kill('SIGCONT');
  });

  it('refuses what a client can get wrong, saying what to fix', async () => {
    const { id } = await createJob();
    const bad = await cluster.client.request('GET', `/v1/jobs/${id}/events`, undefined, { 'last-event-id': 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_last_event_id', field: 'Last-Event-ID' });
    expect(bad.body.error.message).toMatch(/reconnect without it/);
    const missing = await cluster.client.get('/v1/jobs/job_doesnotexist0000000000/events');
    expect(missing.status).toBe(404);
  });

  it('bounds the streams of a process (503 with Retry-After past RERANK_EVENTS_MAX_WATCHERS); on SIGTERM ends them at once instead of holding the drain', async () => {
    worker.proc.kill('SIGSTOP');
    const { id } = await createJob();
    const port = await freePort();
    const small = spawnApp('api', {
      ...cluster.env,
      PORT: String(port),
      RERANK_EVENTS_MAX_WATCHERS: '1',
      RERANK_DRAIN_TIMEOUT_MS: '20000',
    });
    await waitForHttp(`http://127.0.0.1:${port}/health/live`, 200, 30000, small);
    const path = `http://127.0.0.1:${port}/v1/jobs/${id}/events`;
    const first = await openSse(path);
    expect(first.status).toBe(200);
    const full = await new ApiClient(`http://127.0.0.1:${port}`).get(`/v1/jobs/${id}/events`);
    expect(full.status).toBe(503);
    expect(full.body.error.code).toBe('overloaded');
    expect(full.body.error.message).toMatch(/RERANK_EVENTS_MAX_WATCHERS/);
    expect(full.headers.get('retry-after')).toBe('5');
    const metrics = await new ApiClient(`http://127.0.0.1:${port}`).get('/metrics');
    expect(metrics.text).toMatch(/^rerank_event_streams 1$/m);
    small.proc.kill('SIGTERM');
    await first.ended;
    expect(await small.exited).toBe(0);
    // The stream did not wait for the drain's timeout (which answers what is left with 503).
    expect(small.output()).toMatch(/drained in \d+ ms; closing queues and Redis/);
    expect(small.output()).not.toMatch(/unfinished at the timeout/);
    worker.proc.kill('SIGCONT');
    expect((await cluster.client.waitJob(id, 60000)).status).toBe('completed');
  });
});
