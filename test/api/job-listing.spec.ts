/**
 * GET /v1/jobs on real processes (API, aggregator, a worker for a while) and a real redis-server:
 * each key sees only its own jobs, newest first, exactly as GET /v1/jobs/{id} shows them; pages
 * follow next_cursor to the end; status and created_after / created_before filter; bad parameters
 * are 400 naming the parameter.
 */
import { JobListSchema } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import type { ApiClient, Reply } from '../support/http';
import { removeTestModels, testEncoderDir } from '../support/model';

jest.setTimeout(180000);

const ALICE = 'alice-key-0123';
const BOB = 'bob-key-456789';

let cluster: Cluster;
let alice: ApiClient;
let bob: ApiClient;
/** Alice's jobs by id with their final status. */
const aliceJobs = new Map<string, string>();
const bobJobs: string[] = [];

const submit = async (client: ApiClient, query: string): Promise<string> => {
  const r = await client.post('/v1/jobs', { model: 'tiny', query, documents: [`${query} one`, `${query} two`] });
  expect(r.status).toBe(202);
  return r.body.id as string;
};

/** A view without its timings (a queued job's timings grow between two requests). */
const stable = (view: any) => {
  const { timings: _t, ...rest } = view;
  return rest;
};

/** Every page of a listing; checks each page's shape. */
async function pages(client: ApiClient, query: string): Promise<any[][]> {
  const out: any[][] = [];
  let cursor: string | null = null;
  for (;;) {
    const r: Reply = await client.get(`/v1/jobs?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect({ status: r.status, text: r.text.slice(0, 300) }).toEqual({ status: 200, text: expect.any(String) });
    expect(Object.keys(r.body).sort()).toEqual(['data', 'has_more', 'next_cursor', 'object']);
    expect(r.body.object).toBe('list');
    expect(r.body.has_more).toBe(r.body.next_cursor !== null);
    // The answer is what the OpenAPI document says (JobList, from the same contract).
    expect(JobListSchema.safeParse(r.body).error).toBeUndefined();
    out.push(r.body.data);
    if (!r.body.has_more) return out;
    cursor = r.body.next_cursor;
    expect(out.length).toBeLessThan(30);
  }
}

/** Newest first, same millisecond: larger id first. */
const listingOrder = (views: { id: string; created_at: string }[]) =>
  [...views]
    .sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : Date.parse(b.created_at) - Date.parse(a.created_at)))
    .map((v) => v.id);

beforeAll(async () => {
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: await testEncoderDir() }],
    // Jobs are submitted before and after the worker runs (the default, all, would refuse them with 503).
    env: { RERANK_API_KEYS: `alice:${ALICE},bob:${BOB}`, RERANK_THREADS: '1', RERANK_REFUSE_UNSERVED: 'sync' },
  });
  alice = cluster.client.withKey(ALICE);
  bob = cluster.client.withKey(BOB);
  // Alice: five jobs, one cancelled before any worker runs; a worker completes the other four; then
  // two more that stay queued. Bob: three queued jobs.
  const first = [];
  for (let i = 0; i < 5; i++) first.push(await submit(alice, `alpha ${i}`));
  expect((await alice.del(`/v1/jobs/${first[1]}`)).body.status).toBe('cancelled');
  await cluster.startWorkers('cpu');
  for (const id of first) aliceJobs.set(id, (await alice.waitJob(id, 60000)).status);
  await cluster.stopWorkers();
  for (let i = 0; i < 2; i++) aliceJobs.set(await submit(alice, `late ${i}`), 'queued');
  for (let i = 0; i < 3; i++) bobJobs.push(await submit(bob, `bravo ${i}`));
  expect([...aliceJobs.values()].sort()).toEqual(['cancelled', 'completed', 'completed', 'completed', 'completed', 'queued', 'queued']);
});

afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
});

it("lists each key's own jobs, newest first, exactly as GET /v1/jobs/{id} shows them", async () => {
  const r = await alice.get('/v1/jobs');
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
  const views = r.body.data as any[];
  expect(views.map((v) => v.id).sort()).toEqual([...aliceJobs.keys()].sort());
  expect(views.map((v) => v.id)).toEqual(listingOrder(views));
  for (const v of views) {
    const one = await alice.get(`/v1/jobs/${v.id}`);
    expect(stable(v)).toEqual(stable(one.body));
    expect(v.status).toBe(aliceJobs.get(v.id));
  }
  const completed = views.find((v) => v.status === 'completed');
  expect(completed).toMatchObject({
    object: 'rerank.job',
    model: 'tiny',
    counts: { queries: 1, documents: 2, pairs: 2 },
    progress: { pairs_done: 2, pairs_total: 2 },
    links: { self: `${cluster.base}/v1/jobs/${completed.id}` },
  });

  const theirs = await bob.get('/v1/jobs');
  expect(theirs.body.data.map((v: any) => v.id).sort()).toEqual([...bobJobs].sort());
  // Filters never reach across keys either.
  expect((await bob.get('/v1/jobs?status=completed,cancelled')).body.data).toEqual([]);
  // An unknown key lists nothing: 401.
  const unknown = await cluster.client.withKey('carol-key-000000').get('/v1/jobs');
  expect(unknown.status).toBe(401);
});

it('pages with next_cursor through every job once, in order, for every page size', async () => {
  const all = (await alice.get('/v1/jobs?limit=100')).body.data.map((v: any) => v.id);
  expect(all).toHaveLength(7);
  for (const limit of [1, 2, 3, 6, 7]) {
    const got = await pages(alice, `limit=${limit}`);
    expect(got.map((p) => p.length)).toEqual(Array.from({ length: Math.ceil(7 / limit) }, (_, i) => Math.min(limit, 7 - i * limit)));
    expect(got.flat().map((v) => v.id)).toEqual(all);
  }
  // A cursor of alice's pages given by bob lists bob's jobs after that position, never alice's.
  const firstPage = await alice.get('/v1/jobs?limit=1');
  const crossed = await bob.get(`/v1/jobs?cursor=${firstPage.body.next_cursor}`);
  expect(crossed.status).toBe(200);
  for (const v of crossed.body.data) expect(bobJobs).toContain(v.id);
});

it('filters by status (one or several) across pages', async () => {
  const ids = (status: string) =>
    [...aliceJobs]
      .filter(([, s]) => status.split(',').includes(s))
      .map(([id]) => id)
      .sort();
  for (const [status, limit] of [
    ['completed', 3],
    ['cancelled', 1],
    ['queued', 1],
    ['completed,cancelled', 2],
    ['failed', 5],
    ['running,failed', 2],
  ] as const) {
    const got = (await pages(alice, `status=${status}&limit=${limit}`)).flat();
    expect(got.map((v) => v.id).sort()).toEqual(ids(status));
    expect(got.map((v) => v.id)).toEqual(listingOrder(got));
    for (const v of got) expect(status.split(',')).toContain(v.status);
  }
});

it('filters by creation time, both bounds exclusive', async () => {
  const views = (await alice.get('/v1/jobs?limit=100')).body.data as { id: string; created_at: string }[];
  const pivot = views[3].created_at;
  const after = (await pages(alice, `created_after=${pivot}&limit=2`)).flat();
  expect(after.map((v) => v.id)).toEqual(views.filter((v) => Date.parse(v.created_at) > Date.parse(pivot)).map((v) => v.id));
  const before = (await pages(alice, `created_before=${pivot}&limit=2`)).flat();
  expect(before.map((v) => v.id)).toEqual(views.filter((v) => Date.parse(v.created_at) < Date.parse(pivot)).map((v) => v.id));
  expect(after.length + before.length).toBe(views.filter((v) => v.created_at !== pivot).length);
  // Both bounds and a status: the completed jobs strictly between the oldest and the newest.
  const oldest = views[views.length - 1].created_at;
  const newest = views[0].created_at;
  const between = (await alice.get(`/v1/jobs?created_after=${oldest}&created_before=${newest}&status=completed`)).body.data as any[];
  expect(between.map((v) => v.id)).toEqual(
    views.filter((v: any) => v.created_at > oldest && v.created_at < newest && aliceJobs.get(v.id) === 'completed').map((v) => v.id),
  );
  // Offsets: the same instant written as +02:00.
  const shifted = new Date(Date.parse(pivot) + 2 * 3600 * 1000).toISOString().replace('Z', '+02:00');
  const same = (await alice.get(`/v1/jobs?limit=100&created_after=${encodeURIComponent(shifted)}`)).body.data;
  expect(same.map((v: any) => v.id)).toEqual(after.map((v) => v.id));
});

it.each([
  ['limit=0', 'limit', 'limit: expected an integer from 1 to 100, got "0"'],
  ['limit=101', 'limit', 'limit: expected an integer from 1 to 100, got "101"'],
  [
    'cursor=bogus',
    'cursor',
    'cursor: not a cursor of this API; send next_cursor of the previous page as it was given, or omit it for the first page',
  ],
  [
    'status=finished',
    'status',
    'status: expected one or more of queued, running, completed, failed, cancelled (comma separated), got "finished"',
  ],
  [
    'created_after=last%20week',
    'created_after',
    'created_after: expected an RFC 3339 date-time such as 2025-01-01T12:00:00Z, got "last week"',
  ],
  [
    'created_before=2025-13-01T00:00:00Z',
    'created_before',
    'created_before: expected an RFC 3339 date-time such as 2025-01-01T12:00:00Z, got "2025-13-01T00:00:00Z"',
  ],
  ['offset=20', 'offset', 'offset: unknown query parameter; GET /v1/jobs takes limit, cursor, status, created_after, created_before'],
])('400 for %s, naming %s', async (qs, field, message) => {
  const r = await alice.get(`/v1/jobs?${qs}`);
  expect(r.status).toBe(400);
  expect(r.body).toEqual({ error: { code: 'invalid_request', field, message } });
});
