/**
 * The owner index of the job repository (GET /v1/jobs) against a real redis-server: newest first with
 * ties by id, cursor pages, status and time filters, ids of expired jobs pruned, the index bounded,
 * and the query string's checks.
 */
import {
  decodeJobCursor,
  encodeJobCursor,
  JobRepository,
  keys,
  type JobListQuery,
  type NormalizedJob,
  validateJobListQuery,
  ValidationError,
} from '@rerank/jobs';
import { startRedis, type TestRedis } from '../support/redis-server';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const job = (): NormalizedJob =>
  ({
    model: 'enc',
    family: 'encoder',
    queries: [{ id: null, text: 'q', set: 0 }],
    sets: [{ offset: 0, count: 1 }],
    documents: ['d'],
    documentIds: null,
    pairs: 1,
    topK: 1,
    returnDocuments: false,
    options: {},
    webhook: null,
    metadata: null,
  }) as unknown as NormalizedJob;

async function make(repo: JobRepository, owner: string, id: string, createdAt: number): Promise<void> {
  await repo.create({ id, owner, createdAt, job: job(), shardsTotal: 1, baseUrl: 'http://api', requestHash: 'h' });
  await repo.activate(id);
}

/** Every page of a listing, following the cursors. */
async function allPages(repo: JobRepository, owner: string, q: Omit<JobListQuery, 'cursor'>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: JobListQuery['cursor'];
  for (;;) {
    const page = await repo.listOwned(owner, { ...q, cursor });
    pages.push(page.jobs.map((j) => j.record.id));
    if (!page.next) return pages;
    // The cursor travels as the opaque string the API hands out.
    cursor = decodeJobCursor(encodeJobCursor(page.next)) ?? undefined;
    expect(pages.length).toBeLessThan(50);
  }
}

it("lists an owner's jobs newest first, ties by id, a page at a time, and never another owner's", async () => {
  const repo = new JobRepository(redis.client);
  // Three jobs share a creation time: the cursor must split them without losing or repeating one.
  await make(repo, 'o1', 'job_a', 1000);
  await make(repo, 'o1', 'job_c', 2000);
  await make(repo, 'o1', 'job_b', 2000);
  await make(repo, 'o1', 'job_d', 2000);
  await make(repo, 'o1', 'job_e', 3000);
  await make(repo, 'o2', 'job_x', 2500);
  const order = ['job_e', 'job_d', 'job_c', 'job_b', 'job_a'];
  expect(await allPages(repo, 'o1', { limit: 2 })).toEqual([order.slice(0, 2), order.slice(2, 4), order.slice(4)]);
  expect(await allPages(repo, 'o1', { limit: 1 })).toEqual(order.map((id) => [id]));
  expect(await allPages(repo, 'o1', { limit: 5 })).toEqual([order]);
  expect(await allPages(repo, 'o1', { limit: 100 })).toEqual([order]);
  expect(await allPages(repo, 'o2', { limit: 100 })).toEqual([['job_x']]);
  expect(await allPages(repo, 'nobody', { limit: 10 })).toEqual([[]]);

  const first = await repo.listOwned('o1', { limit: 1 });
  expect(first.jobs[0]).toMatchObject({
    record: { id: 'job_e', owner: 'o1', status: 'queued', createdAt: 3000 },
    progress: { shardsDone: 0, pairsDone: 0 },
  });
  expect(first.next).toEqual({ createdAt: 3000, id: 'job_e' });
});

it('filters by status and by creation time (exclusive bounds), across pages', async () => {
  const repo = new JobRepository(redis.client);
  for (let i = 0; i < 10; i++) await make(repo, 'f1', `job_f${i}`, 10000 + i * 10);
  for (const i of [1, 4, 5, 8]) expect(await repo.finish(`job_f${i}`, 'completed')).toBe(true);
  expect(await repo.finish('job_f6', 'failed', { code: 'x', message: 'boom' })).toBe(true);
  await repo.recordShard('job_f4', 0, 1);

  expect(await allPages(repo, 'f1', { limit: 3, statuses: ['completed'] })).toEqual([['job_f8', 'job_f5', 'job_f4'], ['job_f1']]);
  expect(await allPages(repo, 'f1', { limit: 2, statuses: ['completed', 'failed'] })).toEqual([
    ['job_f8', 'job_f6'],
    ['job_f5', 'job_f4'],
    ['job_f1'],
  ]);
  expect(await allPages(repo, 'f1', { limit: 10, statuses: ['cancelled'] })).toEqual([[]]);
  expect(await allPages(repo, 'f1', { limit: 4, createdAfter: 10030 })).toEqual([
    ['job_f9', 'job_f8', 'job_f7', 'job_f6'],
    ['job_f5', 'job_f4'],
  ]);
  expect(await allPages(repo, 'f1', { limit: 4, createdBefore: 10030 })).toEqual([['job_f2', 'job_f1', 'job_f0']]);
  expect(await allPages(repo, 'f1', { limit: 2, createdAfter: 10010, createdBefore: 10070, statuses: ['queued'] })).toEqual([
    ['job_f3', 'job_f2'],
  ]);
  // A cursor past created_before (from a listing without it) is held to the bound.
  expect(
    (await repo.listOwned('f1', { limit: 10, createdBefore: 10020, cursor: { createdAt: 10090, id: 'job_f9' } })).jobs.map(
      (j) => j.record.id,
    ),
  ).toEqual(['job_f1', 'job_f0']);

  const page = await repo.listOwned('f1', { limit: 1, statuses: ['completed'], createdBefore: 10045 });
  expect(page.jobs[0]).toMatchObject({ record: { id: 'job_f4', status: 'completed' }, progress: { shardsDone: 1, pairsDone: 1 } });
  expect(page.next).toEqual({ createdAt: 10040, id: 'job_f4' });
});

it('drops ids of expired or discarded jobs from the index while listing', async () => {
  const repo = new JobRepository(redis.client);
  for (let i = 0; i < 5; i++) await make(repo, 'e1', `job_e${i}`, 20000 + i);
  await repo.expire('job_e1', 1);
  await repo.expire('job_e3', 1);
  await repo.discard('job_e4', 'e1');
  expect(await repo.ownerIndex('e1')).toEqual(['job_e3', 'job_e2', 'job_e1', 'job_e0']);
  // Redis expires the two job hashes for real.
  const deadline = Date.now() + 10000;
  while ((await redis.client.exists(keys.job('job_e1'), keys.job('job_e3'))) > 0) {
    expect(Date.now()).toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await allPages(repo, 'e1', { limit: 1 })).toEqual([['job_e2'], ['job_e0']]);
  expect(await repo.ownerIndex('e1')).toEqual(['job_e2', 'job_e0']);
});

it('keeps the newest RERANK_JOB_LIST_MAX jobs per owner in the index', async () => {
  const repo = new JobRepository(redis.client, { ownerIndexMax: 3 });
  for (let i = 0; i < 6; i++) await make(repo, 'b1', `job_b${i}`, 30000 + i);
  expect(await redis.client.zcard(keys.ownerJobs('b1'))).toBe(3);
  expect(await allPages(repo, 'b1', { limit: 10 })).toEqual([['job_b5', 'job_b4', 'job_b3']]);
  // Older jobs are still readable by id.
  expect(await repo.get('job_b0')).toMatchObject({ id: 'job_b0', owner: 'b1' });
});

describe('the query string of GET /v1/jobs', () => {
  const parse = (qs: string) => validateJobListQuery(new URLSearchParams(qs));
  const refused = (qs: string): { field: string | undefined; message: string } => {
    try {
      parse(qs);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const v = e as ValidationError;
      expect(v.kind).toBe('invalid');
      if (v.field) expect(v.message.startsWith(`${v.field}: `)).toBe(true);
      return { field: v.field, message: v.message };
    }
    throw new Error(`${qs} was accepted`);
  };

  it('reads every parameter', () => {
    expect(parse('')).toEqual({ limit: 20 });
    const cursor = encodeJobCursor({ createdAt: 1735732800000, id: 'job_01' });
    expect(cursor).toBe('MTczNTczMjgwMDAwMC5qb2JfMDE');
    expect(
      parse(
        `limit=100&cursor=${cursor}&status=completed,failed,completed&created_after=2025-01-01T00:00:00Z&created_before=2025-01-01T01:00:00.5%2B01:00`,
      ),
    ).toEqual({
      limit: 100,
      cursor: { createdAt: 1735732800000, id: 'job_01' },
      statuses: ['completed', 'failed'],
      createdAfter: Date.UTC(2025, 0, 1),
      createdBefore: Date.UTC(2025, 0, 1) + 500,
    });
    expect(parse('limit=1')).toEqual({ limit: 1 });
  });

  it.each([
    ['limit=0', 'limit', /^limit: expected an integer from 1 to 100, got "0"/],
    ['limit=101', 'limit', /from 1 to 100, got "101"/],
    ['limit=2.5', 'limit', /got "2.5"/],
    ['limit=', 'limit', /got ""/],
    ['limit=-1', 'limit', /got "-1"/],
    ['cursor=abc', 'cursor', /^cursor: not a cursor of this API; send next_cursor/],
    [`cursor=${Buffer.from('12.not-a-job').toString('base64url')}`, 'cursor', /not a cursor/],
    ['cursor=%2F%2F%2F', 'cursor', /not a cursor/],
    [
      'status=done',
      'status',
      /^status: expected one or more of queued, running, completed, failed, cancelled \(comma separated\), got "done"/,
    ],
    ['status=completed,', 'status', /got ""/],
    ['status=COMPLETED', 'status', /got "COMPLETED"/],
    [
      'created_after=yesterday',
      'created_after',
      /^created_after: expected an RFC 3339 date-time such as 2025-01-01T12:00:00Z, got "yesterday"/,
    ],
    ['created_after=1735732800', 'created_after', /got "1735732800"/],
    ['created_before=2025-02-30T00:00:00', 'created_before', /RFC 3339/],
    ['created_before=2025-02-29T00:00:00Z', 'created_before', /RFC 3339.*got "2025-02-29T00:00:00Z"/],
    ['created_before=2025-01-01T24:00:00Z', 'created_before', /RFC 3339/],
    ['created_before=2025-01-01T00:00:00%2B24:00', 'created_before', /RFC 3339/],
    [
      'created_after=2025-01-02T00:00:00Z&created_before=2025-01-01T00:00:00Z',
      'created_before',
      /^created_before: must be later than created_after/,
    ],
    ['created_after=2025-01-01T00:00:00Z&created_before=2025-01-01T00:00:00Z', 'created_before', /must be later/],
    ['page=2', 'page', /^page: unknown query parameter; GET \/v1\/jobs takes limit, cursor, status, created_after, created_before/],
    ['owner=bob', 'owner', /unknown query parameter/],
    ['status=queued&status=running', 'status', /^status: given more than once; send it once \(several statuses: status=completed,failed\)/],
    ['limit[]=5', 'limit[]', /unknown query parameter/],
  ])('refuses %s naming %s', (qs, field, message) => {
    const r = refused(qs);
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });
});
