import { CONFIG_VARS, ConfigError, loadConfig, parseModels } from '@rerank/jobs';
import { restartDelay, threadPlan } from '../../apps/worker/src/launcher';

const MODELS = { RERANK_MODELS: 'tiny=/models/tiny' };

/** The names other people's manifests use: fixed. */
const EXPECTED_NAMES = [
  'REDIS_URL', 'PORT', 'HEALTH_PORT', 'RERANK_DATA_DIR', 'RERANK_MODELS', 'RERANK_CACHE_DIR', 'RERANK_DEVICES', 'RERANK_THREADS',
  'RERANK_API_KEYS', 'RERANK_MAX_BODY_BYTES', 'RERANK_MAX_DOCUMENTS', 'RERANK_MAX_DOCUMENT_CHARS', 'RERANK_MAX_QUERIES', 'RERANK_MAX_PAIRS',
  'RERANK_MAX_TOP_K', 'RERANK_SYNC_MAX_DOCUMENTS', 'RERANK_SYNC_TIMEOUT_MS', 'RERANK_RESULT_TTL_SECONDS', 'RERANK_SHARD_MAX_PAIRS',
  'RERANK_SHARD_MAX_CHARS', 'RERANK_SHARD_MIN_COUNT', 'RERANK_WORKER_CONCURRENCY', 'RERANK_WEBHOOK_ATTEMPTS', 'RERANK_WEBHOOK_BACKOFF_MS', 'RERANK_WEBHOOK_TIMEOUT_MS', 'RERANK_WEBHOOK_INLINE_MAX',
  'RERANK_LOCK_DURATION_MS', 'RERANK_STALLED_INTERVAL_MS', 'RERANK_MAX_STALLED_COUNT', 'RERANK_SHARD_ATTEMPTS',
  'RERANK_WEBHOOK_ALLOWED_HOSTS', 'RERANK_TRUST_PROXY', 'RERANK_SECRET_KEY',
  'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE', 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE', 'RERANK_RATE_LIMIT_ACTIVE_JOBS',
  'RERANK_MAX_METADATA_DEPTH', 'RERANK_MAX_METADATA_BYTES',
  'RERANK_INFRA_RETRY_MS', 'RERANK_REDIS_COMMAND_TIMEOUT_MS', 'RERANK_MAX_QUEUED_PAIRS', 'RERANK_REDIS_MEMORY_CEILING', 'RERANK_REDIS_MAXMEMORY',
  'RERANK_DRAIN_TIMEOUT_MS',
  'RERANK_URL', 'RERANK_API_KEY',
];

function problems(env: Record<string, string>, requireModels = false): string[] {
  try {
    loadConfig(env, { requireModels });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

describe('configuration', () => {
  it('lists every variable once, each with a description', () => {
    expect(CONFIG_VARS.map((v) => v.name).sort()).toEqual([...EXPECTED_NAMES].sort());
    for (const v of CONFIG_VARS) expect(v.description.length).toBeGreaterThan(20);
  });

  it('applies the documented defaults', () => {
    const c = loadConfig(MODELS);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.redisUrlFromEnv).toBe(false);
    expect(c.port).toBe(3000);
    expect(c.healthPort).toBeUndefined();
    expect(c.devices).toEqual(['cpu']);
    expect(c.apiKeys).toEqual([]);
    const numeric: Record<string, number> = {
      RERANK_MAX_BODY_BYTES: c.limits.maxBodyBytes,
      RERANK_MAX_DOCUMENTS: c.limits.maxDocuments,
      RERANK_MAX_DOCUMENT_CHARS: c.limits.maxDocumentChars,
      RERANK_MAX_QUERIES: c.limits.maxQueries,
      RERANK_MAX_PAIRS: c.limits.maxPairs,
      RERANK_MAX_TOP_K: c.limits.maxTopK,
      RERANK_SYNC_MAX_DOCUMENTS: c.limits.syncMaxDocuments,
      RERANK_SYNC_TIMEOUT_MS: c.syncTimeoutMs,
      RERANK_RESULT_TTL_SECONDS: c.resultTtlSeconds,
      RERANK_SHARD_MAX_PAIRS: c.shard.maxPairs,
      RERANK_SHARD_MAX_CHARS: c.shard.maxChars,
      RERANK_SHARD_MIN_COUNT: c.shard.minShards,
      RERANK_WORKER_CONCURRENCY: c.workerConcurrency,
      RERANK_WEBHOOK_ATTEMPTS: c.webhook.attempts,
      RERANK_WEBHOOK_BACKOFF_MS: c.webhook.backoffMs,
      RERANK_WEBHOOK_TIMEOUT_MS: c.webhook.timeoutMs,
      RERANK_WEBHOOK_INLINE_MAX: c.webhook.inlineMax,
      RERANK_LOCK_DURATION_MS: c.queue.lockDurationMs,
      RERANK_STALLED_INTERVAL_MS: c.queue.stalledIntervalMs,
      RERANK_MAX_STALLED_COUNT: c.queue.maxStalledCount,
      RERANK_SHARD_ATTEMPTS: c.queue.shardAttempts,
      RERANK_MAX_METADATA_DEPTH: c.limits.maxMetadataDepth,
      RERANK_MAX_METADATA_BYTES: c.limits.maxMetadataBytes,
      RERANK_DRAIN_TIMEOUT_MS: c.drainTimeoutMs,
      PORT: c.port,
    };
    for (const [name, value] of Object.entries(numeric)) {
      expect([name, value]).toEqual([name, Number(CONFIG_VARS.find((v) => v.name === name)?.default)]);
    }
  });

  it('reads every variable', () => {
    const c = loadConfig({
      REDIS_URL: 'redis://redis:6380/2',
      PORT: '8080',
      HEALTH_PORT: '9000',
      RERANK_DEVICES: 'cuda:0, cuda:1,cpu',
      RERANK_THREADS: '6',
      RERANK_API_KEYS: 'alice:key-aaaaaaaa, key-bbbbbbbb',
      RERANK_MAX_TOP_K: '50',
      RERANK_SHARD_MAX_PAIRS: '256',
      RERANK_MAX_STALLED_COUNT: '9',
      ...MODELS,
    });
    expect(c.redisUrl).toBe('redis://redis:6380/2');
    expect(c.port).toBe(8080);
    expect(c.healthPort).toBe(9000);
    expect(c.devices).toEqual(['cuda:0', 'cuda:1', 'cpu']);
    expect(c.threads).toBe(6);
    expect(c.apiKeys).toEqual([
      { label: 'alice', key: 'key-aaaaaaaa' },
      { label: 'key2', key: 'key-bbbbbbbb' },
    ]);
    expect(c.limits.maxTopK).toBe(50);
    expect(c.shard.maxPairs).toBe(256);
    expect(c.queue.maxStalledCount).toBe(9);
  });

  it('names the variable in every error, and reports them all at once', () => {
    const p = problems({ PORT: 'abc', RERANK_MAX_DOCUMENTS: '0', RERANK_DEVICES: 'gpu7', REDIS_URL: 'http://x', RERANK_API_KEYS: 'short', ...MODELS });
    expect(p).toHaveLength(5);
    expect(p.join('\n')).toMatch(/PORT="abc": expected an integer from 0 to 65535/);
    expect(p.join('\n')).toMatch(/RERANK_MAX_DOCUMENTS="0": expected an integer from 1/);
    expect(p.join('\n')).toMatch(/RERANK_DEVICES: unknown device "gpu7"/);
    expect(p.join('\n')).toMatch(/REDIS_URL="http:\/\/x"/);
    expect(p.join('\n')).toMatch(/RERANK_API_KEYS: the key labelled "key1" must be at least 8 characters/);
  });

  it('requires RERANK_MODELS where asked, with what to do', () => {
    expect(problems({}, true)[0]).toMatch(/^RERANK_MODELS: not set; list the models/);
    expect(problems({}, false)).toEqual([]);
  });

  it('parses models as JSON or shorthand, and explains mistakes', () => {
    expect(parseModels('a=/m/a, b=BAAI/bge-reranker-base').models).toEqual([
      { name: 'a', path: '/m/a' },
      { name: 'b', path: 'BAAI/bge-reranker-base' },
    ]);
    expect(parseModels('[{"name":"x","path":"/m/x","family":"llm","options":{"maxLength":256}}]').models).toEqual([
      { name: 'x', path: '/m/x', family: 'llm', options: { maxLength: 256 } },
    ]);
    expect(parseModels('[{"name":"x","path":"/m","family":"decoder"}]').problems[0]).toMatch(/RERANK_MODELS\[0\]\.family: expected one of encoder, llm, layerwise, lightweight/);
    expect(parseModels('[{"name":"x","path":"/m","size":3}]').problems[0]).toMatch(/unknown key "size"/);
    expect(parseModels('a=/x,a=/y').problems[0]).toMatch(/"a" is listed twice/);
    expect(parseModels('just-a-path').problems[0]).toMatch(/is not name=path/);
    expect(parseModels('[{"name":').problems[0]).toMatch(/not valid JSON/);
  });

  it('launcher: splits CPU threads, backs off restarts', () => {
    expect(threadPlan(['cpu', 'cpu'], 8)).toEqual([4, 4]);
    expect(threadPlan(['cpu', 'cpu', 'cpu'], 2)).toEqual([1, 1, 1]);
    expect(threadPlan(['cuda:0', 'cuda:1', 'cpu'], 8)).toEqual([2, 2, 8]);
    expect([0, 1, 2, 3, 10].map(restartDelay)).toEqual([1000, 2000, 4000, 8000, 30000]);
  });
});
