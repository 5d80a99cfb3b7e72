/**
 * Webhooks end to end: real API, aggregator and worker processes, receivers on localhost.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, removeTestModels } from '../support/model';
import { waitFor } from '../support/processes';
import { type Receiver, startReceiver } from '../support/webhook-receiver';

jest.setTimeout(120000);

const SECRET = 'whsec-0123456789abcdef';
let cluster: Cluster;
const receivers: Receiver[] = [];

beforeAll(async () => {
  const dir = await testEncoderDir();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: {
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_WEBHOOK_ATTEMPTS: '4',
      RERANK_WEBHOOK_BACKOFF_MS: '200',
      RERANK_WEBHOOK_TIMEOUT_MS: '30000',
      RERANK_SHARD_ATTEMPTS: '2',
    },
  });
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await cluster?.stop();
  removeTestModels();
});

async function receiver(answer?: (n: number) => number): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

const body = (url: string, extra: Record<string, unknown> = {}) => ({
  model: 'tiny',
  queries: [
    { id: 'first', query: 'alpha river' },
    { id: 'second', query: 'omega' },
  ],
  documents: makeDocuments(40, 9),
  top_k: 5,
  metadata: { customer: 'acme' },
  webhook: { url, secret: SECRET },
  ...extra,
});

/** Independent check, as a receiver would write it (the README snippet). */
function receiverAccepts(header: string, raw: Buffer): boolean {
  const fields = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(fields.get('t'));
  if (Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = createHmac('sha256', SECRET).update(`${t}.`).update(raw).digest();
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhooks', () => {
  it('delivers exactly once, signed, with counts, links and small results inline', async () => {
    const r = await receiver();
    const created = await cluster.client.post('/v1/jobs', body(r.url));
    expect(created.status).toBe(202);
    const id = created.body.id;
    await cluster.client.waitJob(id, 30000);
    await waitFor('delivery', () => (r.deliveries.length > 0 ? true : undefined), 10000);
    // Nothing more arrives.
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.deliveries).toHaveLength(1);
    const d = r.deliveries[0];
    const sig = d.headers['x-rerank-signature'] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, sig, d.raw).ok).toBe(true);
    expect(receiverAccepts(sig, d.raw)).toBe(true);
    expect(verifySignature('another-secret-xyz', sig, d.raw).ok).toBe(false);
    expect(d.headers['x-rerank-delivery']).toBe(`${id}-completed`);
    expect(d.headers['x-rerank-event']).toBe('job.completed');
    expect(d.headers['x-rerank-attempt']).toBe('1');
    expect(d.json).toMatchObject({
      event: 'job.completed',
      delivery_id: `${id}-completed`,
      id,
      status: 'completed',
      model: 'tiny',
      counts: { queries: 2, documents: 40, pairs: 80 },
      progress: { pairs_done: 80, pairs_total: 80 },
      metadata: { customer: 'acme' },
      error: null,
      links: { results: `${cluster.client.base}/v1/jobs/${id}/results` },
    });
    const results = await cluster.client.get(`/v1/jobs/${id}/results`);
    expect(d.json.results).toEqual(results.body.results);
    const view = (await cluster.client.get(`/v1/jobs/${id}`)).body;
    expect(view.webhook).toMatchObject({ state: 'delivered', event: 'completed', attempts: 1, last_status: 200, last_error: null });
  });

  it('retries with exponential backoff: a receiver failing three times gets the fourth', async () => {
    const r = await receiver((n) => (n <= 3 ? 500 : 204));
    const created = await cluster.client.post('/v1/jobs', body(r.url));
    const id = created.body.id;
    await cluster.client.waitJob(id, 30000);
    await waitFor('fourth delivery', () => (r.deliveries.length >= 4 ? true : undefined), 20000);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.deliveries.map((d) => d.status)).toEqual([500, 500, 500, 204]);
    expect(r.deliveries.map((d) => d.headers['x-rerank-attempt'])).toEqual(['1', '2', '3', '4']);
    // One delivery id across attempts; each attempt signed afresh.
    expect(new Set(r.deliveries.map((d) => d.headers['x-rerank-delivery'])).size).toBe(1);
    for (const d of r.deliveries) expect(verifySignature(SECRET, d.headers['x-rerank-signature'] as string, d.raw).ok).toBe(true);
    const gaps = r.deliveries.slice(1).map((d, i) => d.at - r.deliveries[i].at);
    // Backoff 200 ms doubling: about 200, 400, 800 (BullMQ adds no jitter here).
    expect(gaps[0]).toBeGreaterThanOrEqual(180);
    expect(gaps[1]).toBeGreaterThanOrEqual(380);
    expect(gaps[2]).toBeGreaterThanOrEqual(780);
    const view = (await cluster.client.get(`/v1/jobs/${id}`)).body;
    expect(view.webhook).toMatchObject({ state: 'delivered', attempts: 4, last_status: 204, last_error: null });
  });

  it('records the failure after the last attempt, visible through the API', async () => {
    const r = await receiver(() => 503);
    const created = await cluster.client.post('/v1/jobs', body(r.url));
    const id = created.body.id;
    await cluster.client.waitJob(id, 30000);
    const view = await waitFor(
      'webhook failure recorded',
      async () => {
        const v = (await cluster.client.get(`/v1/jobs/${id}`)).body;
        return v.webhook.state === 'failed' ? v : undefined;
      },
      20000,
    );
    expect(view.status).toBe('completed');
    expect(view.webhook).toMatchObject({
      state: 'failed',
      event: 'completed',
      attempts: 4,
      last_status: 503,
      last_error: 'receiver answered HTTP 503',
    });
    await new Promise((res) => setTimeout(res, 2000));
    expect(r.deliveries).toHaveLength(4);
  });

  it('records an unreachable receiver the same way', async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    receivers.splice(receivers.indexOf(r), 1);
    const created = await cluster.client.post('/v1/jobs', body(url));
    const id = created.body.id;
    const view = await waitFor(
      'webhook failure recorded',
      async () => {
        const v = (await cluster.client.get(`/v1/jobs/${id}`)).body;
        return v.webhook?.state === 'failed' ? v : undefined;
      },
      30000,
    );
    expect(view.webhook.attempts).toBe(4);
    expect(view.webhook.last_status).toBeNull();
    expect(view.webhook.last_error).toMatch(/fetch failed|ECONNREFUSED/);
  });

  it('tells the receiver when a job fails, with the shard error recorded on the job', async () => {
    const r = await receiver();
    // The API does not tokenize: a query longer than the model's 512 positions, with a query_max_length that
    // keeps it whole, passes submission and fails in the engine (the same way on every attempt).
    const created = await cluster.client.post('/v1/jobs', {
      ...body(r.url),
      queries: [{ id: 'long', query: 'what '.repeat(600).trim() }],
      max_length: 64,
      query_max_length: 600,
    });
    expect(created.status).toBe(202);
    const id = created.body.id;
    const done = await cluster.client.waitJob(id, 30000);
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe('shard_failed');
    expect(done.error.message).toMatch(
      /^shard \d+ failed.*maxLength: pair \d+: its query part leaves no room for the passage within maxLength 64.*beyond the model's 512 positions/,
    );
    await waitFor('failure webhook', () => (r.deliveries.length > 0 ? true : undefined), 10000);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.deliveries).toHaveLength(1);
    expect(r.deliveries[0].json).toMatchObject({ event: 'job.failed', id, status: 'failed', error: { code: 'shard_failed' } });
    expect(r.deliveries[0].json.results).toBeUndefined();
    expect((await cluster.client.get(`/v1/jobs/${id}/results`)).body.error.message).toMatch(
      /is failed, so it has no results \(error: shard/,
    );
  });

  it('at least once: a POST cut by an aggregator killed mid-request is sent again, same X-Rerank-Delivery, and that attempt counts', async () => {
    // A receiver that holds its first request unanswered (the aggregator dies meanwhile) and answers the next 200.
    const seen: { headers: IncomingHttpHeaders; raw: Buffer }[] = [];
    const held: ServerResponse[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, raw: Buffer.concat(chunks) });
        if (seen.length === 1) held.push(res);
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const created = await cluster.client.post('/v1/jobs', body(url));
      expect(created.status).toBe(202);
      const id = created.body.id as string;
      await waitFor('the first POST', () => (seen.length === 1 ? true : undefined), 30000);
      const during = (await cluster.client.get(`/v1/jobs/${id}`)).body.webhook;
      expect([during.state, during.attempts]).toEqual(['pending', 1]);
      await cluster.restartAggregator();
      // The delivery's lock expires (3 s here) and the new aggregator takes it again.
      await waitFor('the second POST', () => (seen.length === 2 ? true : undefined), 60000);
      const job = await waitFor(
        'the delivery recorded',
        async () => {
          const v = (await cluster.client.get(`/v1/jobs/${id}`)).body;
          return v.webhook.state === 'delivered' ? v : undefined;
        },
        30000,
      );
      expect(job.webhook).toMatchObject({ state: 'delivered', event: 'completed', attempts: 2, last_status: 200 });
      const [first, second] = seen;
      expect(second.headers['x-rerank-delivery']).toBe(first.headers['x-rerank-delivery']);
      expect([first.headers['x-rerank-attempt'], second.headers['x-rerank-attempt']]).toEqual(['1', '2']);
      expect(JSON.parse(second.raw.toString()).delivery_id).toBe(first.headers['x-rerank-delivery']);
      expect(verifySignature(SECRET, second.headers['x-rerank-signature'] as string, second.raw).ok).toBe(true);
      // Delivered: nothing more arrives.
      await new Promise((res) => setTimeout(res, 1500));
      expect(seen).toHaveLength(2);
    } finally {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
