/**
 * Hostile input against one real stack (API + aggregator on a real redis-server, no workers: every row
 * is refused before anything would be scored). For every row of test/api/hostile-rows.ts: the status,
 * the error's field (or none) named at the start of the message, nothing stored (every Redis key with
 * type, size and value digest, and BullMQ's job counts, unchanged), no internal error logged, and the
 * API process alive and answering /health/live.
 *
 * Rows run one after another (one API process). The "pending" rows need branches being merged now
 * (SSRF guard, metadata depth, duplicate ids, model positions, trusted proxies); the "finding" rows
 * are bugs this suite found. Both fail until then; run only the rest with
 * `npx jest test/api/hostile-input.spec.ts -t current`.
 */
import { modelQueues } from '@rerank/jobs';
import { keys } from '../../libs/jobs/src/store/keys';
import { Cluster } from '../support/cluster';
import { testEncoderDir, testLayerwiseDir, removeTestModels } from '../support/model';
import { type RawReply, type RawRequest, rawRequest } from '../support/raw-http';
import { type RedisSnapshot, RedisSnapshotter } from '../support/redis-snapshot';
import { ALICE, BOB, BOB_JOB, CURRENT, FINDINGS, PENDING, type Row } from './hostile-rows';

jest.setTimeout(180000);

/** The limits the rows assume (the same as test/api/api.spec.ts, whose bad-input rows moved here). */
export const HOSTILE_ENV: Record<string, string> = {
  RERANK_API_KEYS: `alice:${ALICE},bob:${BOB}`,
  RERANK_MAX_BODY_BYTES: '200000',
  RERANK_MAX_DOCUMENTS: '3000',
  RERANK_MAX_DOCUMENT_CHARS: '2000',
  RERANK_MAX_QUERIES: '5',
  RERANK_MAX_PAIRS: '5000',
  RERANK_MAX_TOP_K: '50',
  RERANK_SYNC_MAX_DOCUMENTS: '20',
  RERANK_SYNC_TIMEOUT_MS: '3000',
  // Rate limits off: a few hundred requests a minute from one key, and no limiter counters in Redis
  // between two snapshots. RERANK_WEBHOOK_ALLOWED_HOSTS stays unset (the SSRF rows need the guard).
  RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
  RERANK_RATE_LIMIT_PAIRS_PER_MINUTE: '0',
  RERANK_RATE_LIMIT_ACTIVE_JOBS: '0',
  // No workers run here: jobs queue for good (the default, all, would refuse them with 503).
  RERANK_REFUSE_UNSERVED: 'sync',
};

let cluster: Cluster;
let snapshots: RedisSnapshotter;
let port: number;
let base: string;
let bobJob: string;

function toRequest(row: Row): { req: RawRequest; halfClose: boolean } {
  const path = (row.path ?? '/v1/jobs').split(BOB_JOB).join(bobJob);
  const body =
    row.raw !== undefined
      ? typeof row.raw === 'string'
        ? Buffer.from(row.raw, 'utf8')
        : row.raw
      : row.body !== undefined
        ? Buffer.from(JSON.stringify(row.body), 'utf8')
        : undefined;
  const method = row.method ?? (body !== undefined ? 'POST' : 'GET');
  const headers: [string, string][] = [];
  const host = row.host === undefined ? `127.0.0.1:${port}` : row.host;
  if (host !== null) headers.push(['Host', host]);
  const auth = row.auth === undefined ? `Bearer ${ALICE}` : row.auth;
  if (auth !== null) headers.push(['Authorization', auth]);
  const type = row.type === undefined ? (body !== undefined ? 'application/json' : null) : row.type;
  if (type !== null) headers.push(['Content-Type', type]);
  const length = row.length === undefined ? (body !== undefined ? String(body.length) : null) : row.length;
  if (length !== null) headers.push(['Content-Length', length]);
  headers.push(['Connection', 'close'], ...(row.headers ?? []));
  return { req: { method, path, headers, body }, halfClose: row.halfClose ?? false };
}

async function alive(): Promise<void> {
  expect(cluster.api.proc.exitCode).toBeNull();
  expect(cluster.api.proc.signalCode).toBeNull();
  expect(cluster.aggregator.proc.exitCode).toBeNull();
  const live = await fetch(`${base}/health/live`, { signal: AbortSignal.timeout(10000) });
  expect(live.status).toBe(200);
  expect(await live.json()).toEqual({ status: 'ok' });
}

function checkAnswer(row: Row, r: RawReply): void {
  expect({ status: r.status, text: r.text.slice(0, 500) }).toEqual({ status: row.status, text: expect.any(String) });
  const answer = row.answer ?? 'json';
  if (answer === 'bare') {
    // Node's HTTP parser refused the bytes: a status line and no body from the app.
    expect(r.text).toBe('');
    return;
  }
  if (answer === 'either' && r.text === '') return;
  if (row.status < 400) {
    expect(r.json).toBeDefined();
    row.check?.(r.json, { base, bobJob });
    return;
  }
  const error = r.json?.error;
  expect(error).toBeDefined();
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  if (answer === 'either') {
    expect(['invalid_json', 'invalid_request']).toContain(error.code);
    return;
  }
  if (row.code) expect(error.code).toBe(row.code);
  if (row.message) expect(error.message).toMatch(row.message);
  if (row.field !== undefined) {
    expect(error.field).toBe(row.field);
    expect(error.message.startsWith(`${row.field}: `)).toBe(true);
  } else {
    expect(error.field).toBeUndefined();
  }
  if (error.code === 'limit_exceeded') expect(error.limit?.env).toMatch(/^RERANK_/);
}

async function runRow(row: Row): Promise<void> {
  const before: RedisSnapshot = await snapshots.take();
  const logFrom = cluster.api.output().length;
  const { req, halfClose } = toRequest(row);
  const reply = await rawRequest(port, req, { timeoutMs: 30000, halfClose });
  checkAnswer(row, reply);
  await alive();
  expect(await snapshots.take()).toEqual(before);
  // A refusal is not an internal error: nothing logged at ERROR (no 500, no stack).
  expect(cluster.api.output().slice(logFrom)).not.toMatch(/"level":"error"|ERROR/);
}

beforeAll(async () => {
  cluster = await Cluster.start({
    models: [
      { name: 'tiny', path: await testEncoderDir() },
      { name: 'layers', path: await testLayerwiseDir() },
    ],
    env: HOSTILE_ENV,
  });
  base = cluster.client.base;
  port = Number(new URL(base).port);
  snapshots = new RedisSnapshotter(cluster.redis.client);
  // A job of the other key, queued for good (no workers): the target of the cross-key rows.
  const created = await cluster.client.withKey(BOB).post('/v1/jobs', {
    model: 'tiny',
    query: 'bob query',
    documents: [
      { id: 'b1', text: 'bob doc one' },
      { id: 'b2', text: 'bob doc two' },
    ],
  });
  expect(created.status).toBe(202);
  bobJob = created.body.id;
});

afterAll(async () => {
  await snapshots?.close();
  await cluster?.stop();
  removeTestModels();
});

/** What makes two rows the same request (the name aside). */
function signature(row: Row): string {
  const { name: _name, status: _s, code: _c, field: _f, message: _m, answer: _a, check: _k, section: _x, ...request } = row;
  return JSON.stringify(request, (_k2, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v));
}

describe('the table', () => {
  const all = [...CURRENT, ...PENDING, ...FINDINGS];

  it(`has at least 150 distinct rows (${CURRENT.length} current, ${PENDING.length} pending, ${FINDINGS.length} findings)`, () => {
    expect(new Set(all.map((r) => r.name)).size).toBe(all.length);
    const seen = new Map<string, string>();
    for (const row of all) {
      const sig = signature(row);
      expect({ row: row.name, sameAs: seen.get(sig) }).toEqual({ row: row.name, sameAs: undefined });
      seen.set(sig, row.name);
    }
    expect(CURRENT.length).toBeGreaterThanOrEqual(150);
  });

  it('sees a stored job (the "nothing stored" check is not blind)', async () => {
    const before = await snapshots.take();
    const r = await cluster.client.withKey(ALICE).post('/v1/jobs', { model: 'tiny', query: 'control', documents: ['one', 'two'] });
    expect(r.status).toBe(202);
    const after = await snapshots.take();
    expect(Object.keys(after.keys).filter((k) => !(k in before.keys))).toEqual(
      expect.arrayContaining([keys.job(r.body.id), keys.docs(r.body.id)]),
    );
    const shards = modelQueues('tiny').shards;
    expect(after.queues[shards].prioritized).toBe(before.queues[shards].prioritized + 1);
    // The job stays queued (no workers), like the other key's: a fixed part of every later snapshot.
  });

  it('covers every route of the API', () => {
    const routes = new Set(
      all.map(
        (r) =>
          `${r.method ?? (r.body !== undefined || r.raw !== undefined ? 'POST' : 'GET')} ${(r.path ?? '/v1/jobs').split('?')[0].replace(BOB_JOB, ':id').slice(0, 40)}`,
      ),
    );
    for (const route of [
      'POST /v1/rerank',
      'POST /v2/rerank',
      'POST /v1/jobs',
      'GET /v1/jobs',
      'GET /v1/jobs/:id',
      'GET /v1/jobs/:id/results',
      'DELETE /v1/jobs/:id',
      'GET /v1/models',
      'GET /health/live',
      'GET /openapi.json',
      'POST /docs',
    ]) {
      expect(routes).toContain(route);
    }
  });
});

describe('current: refused as today, nothing stored, the API alive', () => {
  it.each(CURRENT.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    await runRow(row);
  });

  it("left the other key's job queued and untouched", async () => {
    const r = await cluster.client.withKey(BOB).get(`/v1/jobs/${bobJob}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: bobJob, status: 'queued', counts: { queries: 1, documents: 2, pairs: 2 } });
  });
});

describe('pending: behaviours being merged (fail until then)', () => {
  it.each(PENDING.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    await runRow(row);
  });

  it('pending: accepts a layer-wise (decoder) job whose query_max_length is close to max_length and fits the model', async () => {
    const alice = cluster.client.withKey(ALICE);
    const r = await alice.post('/v1/jobs', {
      model: 'layers',
      query: 'alpha',
      documents: ['beta gamma'],
      max_length: 64,
      query_max_length: 60,
    });
    expect({ status: r.status, text: r.text }).toEqual({ status: 202, text: expect.any(String) });
    // Left queued (no workers): a cancel would let the aggregator run while later rows take snapshots.
  });
});

describe('findings: bugs found by this suite (fail until fixed)', () => {
  it.each(FINDINGS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    await runRow(row);
  });
});
