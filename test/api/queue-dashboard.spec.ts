/**
 * The queue dashboard (Bull Board at /admin/queues) on a real API process and redis-server: only an
 * admin key of RERANK_ADMIN_KEYS opens it (401 without a key or with an unknown one, 403 with an API
 * key), its API shows the service's queues with a job's shards, and an API without admin keys does not
 * serve it.
 */
import { Cluster } from '../support/cluster';
import { removeTestModels, testEncoderDir } from '../support/model';

jest.setTimeout(120000);

const ALICE = 'alice-key-0123';
const ADMIN = 'admin-key-9876543';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: await testEncoderDir() }],
    // Jobs queue without workers (the default, all, refuses them with 503): the dashboard shows them waiting.
    env: { RERANK_API_KEYS: `alice:${ALICE}`, RERANK_ADMIN_KEYS: `ops:${ADMIN}`, RERANK_REFUSE_UNSERVED: 'sync' },
  });
});
afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
});

const get = (path: string, authorization?: string) =>
  fetch(`${cluster.base}${path}`, { headers: authorization === undefined ? {} : { authorization } });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('who may open /admin/queues', () => {
  it.each([
    ['no Authorization header', undefined, /needs an admin key \(RERANK_ADMIN_KEYS\)/],
    ['an unknown key', 'Bearer not-a-key-at-all', /unknown admin key/],
    ['the admin key plus one character', `Bearer ${ADMIN}x`, /unknown admin key/],
    ['Basic with a wrong password', basic('ops', 'wrong-password'), /unknown admin key/],
    ['a Token scheme', `Token ${ADMIN}`, /must be "Bearer <admin key>"/],
  ])('401 with %s', async (_name, auth, message) => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/nothing.js']) {
      const r = await get(path, auth);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="rerank queue dashboard", charset="UTF-8"');
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(message);
    }
  });

  it('403 with a normal API key (Bearer or Basic)', async () => {
    for (const auth of [`Bearer ${ALICE}`, basic('alice', ALICE)]) {
      const r = await get('/admin/queues', auth);
      expect(r.status).toBe(403);
      expect(await r.json()).toEqual({
        error: { code: 'forbidden', message: 'this API key may not open the queue dashboard; it needs one of RERANK_ADMIN_KEYS' },
      });
    }
  });

  it('the admin key is no API key: the API refuses it', async () => {
    const r = await get('/v1/models', `Bearer ${ADMIN}`);
    expect(r.status).toBe(401);
  });

  it("200 with the admin key: the page, and the queues with a queued job's shards and aggregation", async () => {
    const page = await get('/admin/queues', `Bearer ${ADMIN}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<title>Rerank queues</title>');
    // In a browser: Basic with any user name and the admin key as the password.
    expect((await get('/admin/queues', basic('anyone', ADMIN))).status).toBe(200);

    // No workers: the job's shards wait in the shards queue, its aggregation waits for them.
    const created = await cluster.client.withKey(ALICE).post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['a', 'b'] });
    expect(created.status).toBe(202);
    const shards = created.body.progress.shards_total as number;
    const r = await get('/admin/queues/api/queues?activeQueue=shards.tiny&status=prioritized&page=1', `Bearer ${ADMIN}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      queues: { name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: { data: { jobId: string } }[] }[];
    };
    const byName = Object.fromEntries(body.queues.map((q) => [q.name, q]));
    expect(Object.keys(byName).sort()).toEqual(['aggregate', 'shards.tiny', 'sync.tiny', 'webhooks']);
    for (const q of body.queues) expect(q.readOnlyMode).toBe(true);
    expect(byName['shards.tiny'].counts.prioritized).toBe(shards);
    expect(byName.aggregate.counts['waiting-children']).toBe(1);
    expect(byName['shards.tiny'].jobs.map((j) => j.data.jobId)).toEqual(Array(shards).fill(created.body.id));
  });

  it('refuses what read-only mode forbids, even with the admin key', async () => {
    const before = await cluster.redis.client.zcard('rerank:q:shards.tiny:prioritized');
    expect(before).toBeGreaterThan(0);
    const r = await fetch(`${cluster.base}/admin/queues/api/queues/shards.tiny/empty`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(r.status).toBe(405);
    expect(await cluster.redis.client.zcard('rerank:q:shards.tiny:prioritized')).toBe(before);
  });
});

describe('without RERANK_ADMIN_KEYS', () => {
  it('the dashboard is not served (404 like any unknown route)', async () => {
    const other = await Cluster.start({
      models: [{ name: 'tiny', path: await testEncoderDir() }],
      env: { RERANK_API_KEYS: `alice:${ALICE}` },
    });
    try {
      const r = await fetch(`${other.base}/admin/queues`, { headers: { authorization: `Bearer ${ALICE}` } });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
    } finally {
      await other.stop();
    }
  });

  it('an admin key equal to an API key stops the API at start, naming both variables', async () => {
    const { spawnApp } = await import('../support/processes');
    const api = spawnApp('api', { ...cluster.env, PORT: '0', RERANK_ADMIN_KEYS: `ops:${ALICE}` });
    expect(await api.exited).toBe(2);
    // The log line is JSON, so its quotes come escaped.
    expect(api.output()).toMatch(/RERANK_ADMIN_KEYS: the key labelled \\?"ops\\?" is also the API key \\?"alice\\?" of RERANK_API_KEYS/);
  });
});
