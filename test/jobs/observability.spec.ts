/**
 * Issue 10, metrics and logs, on real processes (API, aggregator, launcher with a CPU worker, a real
 * redis-server): /metrics of each process scraped and parsed with a Prometheus text-format parser,
 * the counters and histograms moving by exactly what one known job did; JSON log lines following one
 * request id from the POST to the shards and the webhook; no API key or webhook secret in any log.
 */
import { AutoReranker, type Pair } from '@rerank/engine';
import { freePort } from '@rerank/harness';
import { loadConfig, METRIC_CATALOGUE } from '@rerank/jobs';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir } from '../support/model';
import { waitFor } from '../support/processes';
import { Scrape } from '../support/prometheus';
import { type Receiver, startReceiver } from '../support/webhook-receiver';
import { JobInspector } from '../support/job-inspector';

jest.setTimeout(180000);

const KEY = 'obs-key-0123456789abcdef';
const SECRET = 'whsec-obs-never-logged-42';
const QUERIES = ['alpha river', 'where is the old library near the harbor'];
const DOCS = makeDocuments(60, 11);
const PAIRS = QUERIES.length * DOCS.length;

let cluster: Cluster;
let dir: string;
let aggregatorMetrics: string;
let launcherMetrics: string;
let receiver: Receiver;

beforeAll(async () => {
  dir = await testEncoderDir();
  const aggregatorPort = await freePort();
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: dir }],
    env: {
      HEALTH_PORT: String(aggregatorPort),
      RERANK_API_KEYS: `ops:${KEY}`,
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_WEBHOOK_ATTEMPTS: '3',
      RERANK_WEBHOOK_BACKOFF_MS: '200',
      RERANK_SHARD_MIN_COUNT: '4',
      // The job is queued before the worker starts (the default, all, would refuse it with 503).
      RERANK_REFUSE_UNSERVED: 'sync',
    },
  });
  aggregatorMetrics = `http://127.0.0.1:${aggregatorPort}/metrics`;
  launcherMetrics = `http://127.0.0.1:${await freePort()}/metrics`;
  // The first delivery answers 500 (retried), the second 200 (delivered).
  receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
});

afterAll(async () => {
  await receiver?.close();
  await cluster?.stop();
  removeTestModels();
});

const api = () => cluster.client.withKey(KEY);
const apiMetrics = () => `${cluster.base}/metrics`;

/** Real (unpadded) tokens of these pairs as the model reads them, counted by the engine in-process. */
async function realTokens(pairs: Pair[]): Promise<number> {
  const reranker = await AutoReranker.fromFinetuned(dir, { devices: ['cpu'] });
  try {
    const inputs = await reranker.inspectInputs(pairs);
    return inputs.reduce((n, p) => n + p.inputIds.length, 0);
  } finally {
    await reranker.close();
  }
}

/** Parsed JSON log lines of a process (every non-empty line must be JSON). */
function jsonLines(output: string): Record<string, any>[] {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, any>;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}

describe('metrics and logs over one known job', () => {
  let id: string;
  let shards: number;
  const requestId = 'obs-req-7f3a9c';

  it('queue gauges: shards waiting with their age while no worker runs; no live worker for the model', async () => {
    const created = await api().post(
      '/v1/jobs',
      {
        model: 'tiny',
        queries: QUERIES.map((query) => ({ query })),
        documents: DOCS,
        top_k: 3,
        webhook: { url: receiver.url, secret: SECRET },
      },
      { 'x-request-id': requestId },
    );
    expect(created.status).toBe(202);
    expect(created.headers.get('x-request-id')).toBe(requestId);
    id = created.body.id;
    const record = await new JobInspector(cluster.redis.client).get(id);
    shards = record!.shardsTotal;
    expect(shards).toBeGreaterThanOrEqual(4);
    expect(record!.requestId).toBe(requestId);

    await new Promise((r) => setTimeout(r, 1100));
    for (const url of [apiMetrics(), aggregatorMetrics]) {
      const m = await Scrape.of(url);
      // Shards carry a BullMQ priority: they wait in the prioritized state.
      expect(m.value('rerank_queue_jobs', { queue: 'shards', model: 'tiny', state: 'prioritized' })).toBe(shards);
      expect(m.value('rerank_queue_jobs', { queue: 'shards', model: 'tiny', state: 'active' })).toBe(0);
      // The parent waits for its children (BullMQ's waiting-children state is not one of ours).
      expect(m.value('rerank_queue_jobs', { queue: 'aggregate', model: '', state: 'waiting' })).toBe(0);
      expect(m.value('rerank_queue_oldest_waiting_age_seconds', { queue: 'shards', model: 'tiny' })).toBeGreaterThanOrEqual(1);
      expect(m.value('rerank_queue_oldest_waiting_age_seconds', { queue: 'webhooks', model: '' })).toBe(0);
      expect(m.value('rerank_workers_live', { model: 'tiny' })).toBe(0);
      expect(m.family('rerank_workers_live')?.type).toBe('GAUGE');
    }
  });

  it('counters and histograms move by exactly what the job did', async () => {
    const aggBefore = await Scrape.of(aggregatorMetrics);
    await cluster.startWorkers('cpu', { HEALTH_PORT: new URL(launcherMetrics).port });
    const launcherBefore = await Scrape.of(launcherMetrics);
    // The worker started after the job was queued; it may have scored some already: compare with zero.
    expect(launcherBefore.family('rerank_worker_pairs_scored_total')?.type).toBe('COUNTER');

    const view = await api().waitJob(id, 120000);
    expect(view.status).toBe('completed');
    await waitFor('webhook delivered', () => (receiver.deliveries.filter((d) => d.status === 200).length === 1 ? true : undefined), 30000);
    const agg = await waitFor(
      'aggregator counted the delivery',
      async () => {
        const m = await Scrape.of(aggregatorMetrics);
        return m.value('rerank_webhook_deliveries_total', { outcome: 'delivered' }) === 1 ? m : undefined;
      },
      10000,
    );
    const apiAfter = await Scrape.of(apiMetrics());
    const launcher = await Scrape.of(launcherMetrics);

    // API: the POST and the polling GETs by route template, the job accepted.
    const post = { route: '/v1/jobs', method: 'POST' };
    expect(apiAfter.value('rerank_http_requests_total', { ...post, status: '202' })).toBe(1);
    expect(apiAfter.histogram('rerank_http_request_duration_seconds', post).count).toBe(1);
    expect(apiAfter.value('rerank_http_requests_total', { route: '/v1/jobs/:id', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(apiAfter.text).not.toContain(id);
    expect(apiAfter.value('rerank_jobs_total', { outcome: 'accepted' })).toBe(1);
    expect(apiAfter.value('rerank_queue_jobs', { queue: 'shards', model: 'tiny', state: 'prioritized' })).toBe(0);
    expect(apiAfter.value('rerank_workers_live', { model: 'tiny' })).toBe(1);

    // Aggregator: one job completed, its duration observed once; one retry, one delivery in 2 attempts.
    expect(agg.value('rerank_jobs_total', { outcome: 'completed' }) - aggBefore.value('rerank_jobs_total', { outcome: 'completed' })).toBe(
      1,
    );
    expect(agg.value('rerank_jobs_total', { outcome: 'failed' })).toBe(0);
    const duration = agg.histogram('rerank_job_duration_seconds', { outcome: 'completed' });
    expect(duration.count).toBe(1);
    expect(duration.sum).toBeGreaterThan(1); // it waited over a second for a worker
    expect(agg.value('rerank_webhook_deliveries_total', { outcome: 'retried' })).toBe(1);
    const attempts = agg.histogram('rerank_webhook_delivery_attempts', { outcome: 'delivered' });
    expect(attempts).toMatchObject({ count: 1, sum: 2 });
    expect(attempts.buckets['1']).toBe(0);
    expect(attempts.buckets['2']).toBe(1);

    // Launcher (its worker's registry over IPC): every pair once, every shard once, real tokens exactly.
    const labels = { device: 'cpu', model: 'tiny' };
    expect(launcher.value('rerank_worker_pairs_scored_total', labels)).toBe(PAIRS);
    expect(launcher.histogram('rerank_worker_shard_duration_seconds', labels).count).toBe(shards);
    const pairs: Pair[] = QUERIES.flatMap((q) => DOCS.map((d) => [q, d] as Pair));
    expect(launcher.value('rerank_worker_tokens_scored_total', labels)).toBe(await realTokens(pairs));
    const padding = launcher.histogram('rerank_worker_batch_padding_efficiency', labels);
    expect(padding.count).toBeGreaterThanOrEqual(shards);
    expect(padding.buckets['1']).toBe(padding.count); // real <= padded in every batch
    expect(padding.sum / padding.count).toBeGreaterThan(0.3);
    expect(launcher.value('rerank_worker_model_load_seconds', labels)).toBeGreaterThan(0);
    const busy = launcher.value('rerank_worker_busy_ratio', { device: 'cpu' });
    expect(busy).toBeGreaterThanOrEqual(0);
    expect(busy).toBeLessThanOrEqual(1);
  });

  it('serves only catalogue metrics, with the catalogue types', async () => {
    const types = { counter: 'COUNTER', gauge: 'GAUGE', histogram: 'HISTOGRAM' } as const;
    for (const url of [apiMetrics(), aggregatorMetrics, launcherMetrics]) {
      const m = await Scrape.of(url);
      for (const f of m.families) {
        const spec = METRIC_CATALOGUE.find((s) => s.name === f.name);
        expect(spec && types[spec.type]).toBe(f.type);
      }
    }
  });

  it('logs are JSON lines; one request id goes from the POST to the shards and the webhook; no key or secret', async () => {
    const api_ = jsonLines(cluster.api.output());
    const aggregator = jsonLines(cluster.aggregator.output());
    const workers = jsonLines(cluster.launcher!.output());

    const access = api_.filter((l) => l.request_id === requestId);
    expect(access).toEqual([
      expect.objectContaining({ level: 'info', method: 'POST', route: '/v1/jobs', status: 202, key: 'ops', component: 'api' }),
    ]);
    expect(typeof access[0].duration_ms).toBe('number');

    const shardLines = workers.filter((l) => l.request_id === requestId && l.job_id === id && typeof l.shard === 'number');
    expect(new Set(shardLines.map((l) => l.shard))).toEqual(new Set(Array.from({ length: shards }, (_, i) => i)));
    expect(shardLines.reduce((n, l) => n + l.pairs, 0)).toBe(PAIRS);

    const jobLines = aggregator.filter((l) => l.request_id === requestId && l.job_id === id);
    expect(jobLines.some((l) => / completed: /.test(l.msg))).toBe(true);
    const webhookLines = jobLines.filter((l) => l.delivery_id === `${id}-completed`);
    expect(webhookLines.map((l) => [l.level, l.attempt])).toEqual([
      ['warn', 1],
      ['info', 2],
    ]);

    const everything = cluster.api.output() + cluster.aggregator.output() + cluster.launcher!.output();
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(SECRET);
  });

  it('generates a request id when none or an unusable one is sent, and logs the 401 with its route', async () => {
    const none = await api().get(`/v1/jobs/${id}`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const bad = await api().request('GET', `/v1/jobs/${id}`, undefined, { 'x-request-id': 'has spaces "and quotes"' });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await api().request('GET', `/v1/jobs/${id}`, undefined, { 'x-request-id': 'a'.repeat(129) });
    expect(tooLong.headers.get('x-request-id')).toHaveLength(36);

    const denied = await cluster.client.post('/v1/jobs', { model: 'tiny' }, { 'x-request-id': 'obs-denied-1' });
    expect(denied.status).toBe(401);
    await waitFor(
      'access line',
      () => (jsonLines(cluster.api.output()).some((l) => l.request_id === 'obs-denied-1') ? true : undefined),
      5000,
    );
    const line = jsonLines(cluster.api.output()).find((l) => l.request_id === 'obs-denied-1')!;
    expect(line).toMatchObject({ level: 'warn', method: 'POST', route: '/v1/jobs', status: 401, key: null });
    const m = await Scrape.of(apiMetrics());
    expect(m.value('rerank_http_requests_total', { route: '/v1/jobs', method: 'POST', status: '401' })).toBe(1);
  });
});

describe('LOG_LEVEL', () => {
  it('is declared in the config schema and checked', () => {
    const env = { RERANK_MODELS: 'tiny=/tmp/none' };
    expect(() => loadConfig({ ...env, LOG_LEVEL: 'debug' })).not.toThrow();
    expect(() => loadConfig({ ...env, LOG_LEVEL: 'loud' })).toThrow(
      'LOG_LEVEL="loud": expected fatal, error, warn, info, debug, trace or silent (default info)',
    );
  });
});
