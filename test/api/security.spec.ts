/**
 * Security guards against real processes on one real Redis: per-key rate limits shared by two API
 * replicas (429, Retry-After, RateLimit-*), the active-jobs quota, the pairs budget, the webhook
 * SSRF guard at the API, proxy headers, /v1/models without paths, API keys, and webhook secrets
 * encrypted at rest while deliveries stay correctly signed.
 */
import { freePort } from '@rerank/harness';
import { verifySignature } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { ApiClient } from '../support/http';
import { removeTestModels, testEncoderDir } from '../support/model';
import { type AppProcess, spawnApp, waitFor, waitForHttp } from '../support/processes';
import { type Receiver, startReceiver } from '../support/webhook-receiver';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(180000);

const KEYS = {
  main: 'main-key-000001',
  limited: 'limited-key-0002',
  pairs: 'pairs-key-000003',
  active: 'active-key-00004',
  ssrf: 'ssrf-key-0000005',
  proxy: 'proxy-key-000006',
};
const SECRET_KEY = 'test-secret-key-with-at-least-32-chars!!';
const WEBHOOK_SECRET = 'whsec-abcdef-123456';

let cluster: Cluster;
let modelDir: string;
const replicas: AppProcess[] = [];
/** Two API replicas with tight limits and no webhook allow-list; the second trusts proxies on loopback. */
let a: ApiClient;
let b: ApiClient;
let receiver: Receiver;

async function startReplica(extra: Record<string, string>): Promise<ApiClient> {
  const port = await freePort();
  const proc = spawnApp('api', { ...cluster.env, PORT: String(port), ...extra });
  replicas.push(proc);
  const client = new ApiClient(`http://127.0.0.1:${port}`);
  await waitForHttp(`${client.base}/health/live`, 200, 30000, proc);
  return client;
}

const job = (extra: Record<string, unknown> = {}) => ({ model: 'tiny', query: 'alpha', documents: ['a b', 'c d', 'e f'], ...extra });

beforeAll(async () => {
  modelDir = await testEncoderDir();
  receiver = await startReceiver();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: modelDir }],
    env: {
      RERANK_API_KEYS: Object.entries(KEYS)
        .map(([label, key]) => `${label}:${key}`)
        .join(','),
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_SECRET_KEY: SECRET_KEY,
      RERANK_RATE_LIMIT_ACTIVE_JOBS: '2',
      RERANK_WEBHOOK_BACKOFF_MS: '200',
      // Jobs queue while no worker is live (the default, all, refuses them with 503): workers start late.
      RERANK_REFUSE_UNSERVED: 'sync',
    },
  });
  const limits = { RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE: '6', RERANK_RATE_LIMIT_PAIRS_PER_MINUTE: '10', RERANK_WEBHOOK_ALLOWED_HOSTS: '' };
  a = await startReplica(limits);
  b = await startReplica({ ...limits, RERANK_TRUST_PROXY: '127.0.0.0/8,::1/128' });
});

afterAll(async () => {
  await Promise.allSettled(replicas.map((p) => p.stop()));
  await cluster?.stop();
  await receiver?.close();
  removeTestModels();
});

describe('rate limits shared by API replicas', () => {
  it('counts requests of one key across two API processes and answers 429 with Retry-After and RateLimit-*', async () => {
    const seen: [number, string | null, string | null][] = [];
    for (let i = 0; i < 6; i++) {
      const client = (i % 2 === 0 ? a : b).withKey(KEYS.limited);
      const r = await client.get('/v1/models');
      seen.push([r.status, r.headers.get('ratelimit-limit'), r.headers.get('ratelimit-remaining')]);
      const reset = Number(r.headers.get('ratelimit-reset'));
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(60);
    }
    expect(seen).toEqual([
      [200, '6', '5'],
      [200, '6', '4'],
      [200, '6', '3'],
      [200, '6', '2'],
      [200, '6', '1'],
      [200, '6', '0'],
    ]);
    const refused = await b.withKey(KEYS.limited).post('/v1/jobs', job());
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      code: 'rate_limited',
      limit: { name: 'requests per minute per API key', value: 6, env: 'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE' },
    });
    expect(refused.body.error.message).toMatch(/^too many requests: at most 6 per minute for this API key/);
    const retry = Number(refused.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(refused.body.error.retry_after_seconds).toBe(retry);
    expect(refused.headers.get('ratelimit-limit')).toBe('6');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect((await a.withKey(KEYS.limited).get('/v1/models')).status).toBe(429);
    // Another key has its own budget.
    const other = await a.withKey(KEYS.main).get('/v1/models');
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-remaining')).toBe('5');
  });

  it('budgets (query, document) pairs per minute: jobs and sync requests together', async () => {
    const client = a.withKey(KEYS.pairs);
    const first = await client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['1', '2', '3', '4', '5', '6'] });
    expect(first.status).toBe(202);
    const second = await b.withKey(KEYS.pairs).post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['1', '2', '3', '4', '5'] });
    expect(second.status).toBe(429);
    expect(second.body.error.limit).toEqual({
      name: '(query, document) pairs per minute per API key',
      value: 10,
      env: 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE',
    });
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const tooBig = await client.post('/v1/rerank', { model: 'tiny', query: 'q', documents: Array.from({ length: 11 }, (_, i) => `d${i}`) });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toMatchObject({ field: 'documents', limit: { env: 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE' } });
    await cluster.client.withKey(KEYS.pairs).del(`/v1/jobs/${first.body.id}`);
  });
});

describe('active jobs per key', () => {
  it('refuses a third queued job with 429 and frees the slot when a job is cancelled', async () => {
    // No workers run: jobs stay queued.
    const client = cluster.client.withKey(KEYS.active);
    const one = await client.post('/v1/jobs', job());
    const two = await client.post('/v1/jobs', job());
    expect([one.status, two.status]).toEqual([202, 202]);
    const before = (await cluster.footprint()).keys;
    const three = await client.post('/v1/jobs', job());
    expect(three.status).toBe(429);
    expect(three.body.error).toMatchObject({
      code: 'rate_limited',
      limit: { name: 'active jobs per API key', value: 2, env: 'RERANK_RATE_LIMIT_ACTIVE_JOBS' },
    });
    expect(three.body.error.message).toMatch(
      /^too many active jobs: this API key has 2 jobs queued or running, at most 2 \(RERANK_RATE_LIMIT_ACTIVE_JOBS\)/,
    );
    expect(three.headers.get('retry-after')).toBe('5');
    expect((await cluster.footprint()).keys).toEqual(before);
    // Another key is not affected.
    expect((await cluster.client.withKey(KEYS.main).post('/v1/jobs', job())).status).toBe(202);
    expect((await client.del(`/v1/jobs/${one.body.id}`)).body.status).toBe('cancelled');
    const four = await client.post('/v1/jobs', job());
    expect(four.status).toBe(202);
    expect(
      await new JobInspector(cluster.redis.client).activeJobs((await new JobInspector(cluster.redis.client).get(four.body.id))!.tenant),
    ).toEqual(expect.arrayContaining([two.body.id, four.body.id]));
  });
});

describe('webhook URLs at the API', () => {
  const refused: [string, string][] = [
    ['decimal loopback', 'http://2130706433:9/h'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]:9/h'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data'],
  ];
  it.each(refused)('refuses %s with 400 webhook.url and stores nothing', async (_name, url) => {
    const before = await cluster.footprint();
    const r = await a.withKey(KEYS.ssrf).post('/v1/jobs', job({ webhook: { url } }));
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('webhook.url');
    expect(r.body.error.message).toMatch(/^webhook\.url: address .* RERANK_WEBHOOK_ALLOWED_HOSTS/);
    expect(await cluster.footprint()).toEqual(before);
  });

  it('refuses credentials in the URL and never echoes the password', async () => {
    const r = await a.withKey(KEYS.ssrf).post('/v1/jobs', job({ webhook: { url: 'https://bob:s3cr3t-pw@hooks.example.com/h' } }));
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('webhook.url');
    expect(r.text).not.toContain('s3cr3t-pw');
  });
});

describe('proxy headers', () => {
  const forwarded = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

  it('ignores X-Forwarded-* unless RERANK_TRUST_PROXY covers the peer', async () => {
    const client = cluster.client.withKey(KEYS.proxy);
    const created = await client.post('/v1/jobs', job(), forwarded);
    expect(created.status).toBe(202);
    expect(created.body.links.self).toBe(`${cluster.client.base}/v1/jobs/${created.body.id}`);
    const viaA = await a.withKey(KEYS.proxy).request('GET', `/v1/jobs/${created.body.id}`, undefined, forwarded);
    expect(viaA.body.links.self).toBe(`${a.base}/v1/jobs/${created.body.id}`);
    const viaB = await b.withKey(KEYS.proxy).request('GET', `/v1/jobs/${created.body.id}`, undefined, forwarded);
    expect(viaB.body.links.self).toBe(`https://evil.example/v1/jobs/${created.body.id}`);
    await client.del(`/v1/jobs/${created.body.id}`);
  });
});

describe('models and keys', () => {
  it('/v1/models shows no server paths', async () => {
    const r = await cluster.client.withKey(KEYS.main).get('/v1/models');
    expect(r.status).toBe(200);
    expect(r.body.data[0]).toMatchObject({ id: 'tiny', object: 'model' });
    expect(r.body.data[0]).not.toHaveProperty('source');
    expect(r.text).not.toContain(modelDir);
  });

  it('accepts only the exact key', async () => {
    const c = cluster.client;
    expect((await c.withKey(KEYS.main).get('/v1/models')).status).toBe(200);
    for (const wrong of [KEYS.main.slice(0, -1), `${KEYS.main}x`, KEYS.main.replace(/1$/, '2'), KEYS.main.toUpperCase()]) {
      const r = await c.withKey(wrong).get('/v1/models');
      expect(r.status).toBe(401);
      expect(r.body.error.message).toBe('unknown API key; check the key you were given');
    }
  });
});

describe('webhook secrets at rest', () => {
  it('stores the secret encrypted (RERANK_SECRET_KEY) and still signs deliveries with it', async () => {
    const client = cluster.client.withKey(KEYS.main);
    const created = await client.post('/v1/jobs', job({ webhook: { url: receiver.url, secret: WEBHOOK_SECRET } }));
    expect(created.status).toBe(202);
    const stored = await new JobInspector(cluster.redis.client).storedWebhookSecret(created.body.id);
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain(WEBHOOK_SECRET);
    await cluster.startWorkers('cpu');
    const view = await client.waitJob(created.body.id);
    expect(view.status).toBe('completed');
    expect(JSON.stringify(view)).not.toContain(WEBHOOK_SECRET);
    const delivery = await waitFor('the delivery', () => receiver.deliveries.find((d) => d.json?.id === created.body.id), 30000);
    const check = verifySignature(WEBHOOK_SECRET, delivery.headers['x-rerank-signature'] as string, delivery.raw);
    expect(check.ok).toBe(true);
    const logs = cluster.api.output() + cluster.aggregator.output();
    expect(logs).not.toContain(WEBHOOK_SECRET);
    expect(logs).not.toContain(SECRET_KEY);
  });
});
