import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterKeysInUse, keys, useClusterKeys } from '../../libs/jobs/src/store/keys';
import {
  CONFIG_VARS,
  parseRedisUrl,
  ConfigError,
  PROCESSES,
  closestName,
  describeBound,
  editDistance,
  isLoopbackHost,
  loadConfig,
  localUrl,
  parseDevices,
  readSection,
  SECTIONS,
  unknownVariables,
} from '@rerank/jobs';
import { spawnApp } from '@rerank/harness';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, configTable, withConfigTable } from '../../libs/jobs/src/config/docs';
import { restartDelay, threadPlan } from '../../apps/worker/src/launcher';

const MODELS = { RERANK_MODELS: 'tiny=/models/tiny' };
const NAMES = CONFIG_VARS.map((v) => v.name);
const declared = (name: string) => CONFIG_VARS.find((v) => v.name === name)!;

/** The names other people's manifests use: fixed. */
const EXPECTED_NAMES = [
  'REDIS_URL',
  'PORT',
  'RERANK_HOST',
  'HEALTH_PORT',
  'LOG_LEVEL',
  'RERANK_DATA_DIR',
  'RERANK_MODELS',
  'RERANK_CACHE_DIR',
  'RERANK_DEVICES',
  'RERANK_DOCUMENT_STORE',
  'RERANK_THREADS',
  'RERANK_API_KEYS',
  'RERANK_MAX_BODY_BYTES',
  'RERANK_MAX_DOCUMENTS',
  'RERANK_MAX_DOCUMENT_CHARS',
  'RERANK_MAX_QUERIES',
  'RERANK_MAX_PAIRS',
  'RERANK_MAX_TOP_K',
  'RERANK_SYNC_MAX_DOCUMENTS',
  'RERANK_SYNC_TIMEOUT_MS',
  'RERANK_RESULT_TTL_SECONDS',
  'RERANK_SHARD_MAX_PAIRS',
  'RERANK_SHARD_MAX_CHARS',
  'RERANK_SHARD_MIN_COUNT',
  'RERANK_WORKER_CONCURRENCY',
  'RERANK_WEBHOOK_ATTEMPTS',
  'RERANK_WEBHOOK_BACKOFF_MS',
  'RERANK_WEBHOOK_TIMEOUT_MS',
  'RERANK_WEBHOOK_INLINE_MAX',
  'RERANK_LOCK_DURATION_MS',
  'RERANK_STALLED_INTERVAL_MS',
  'RERANK_MAX_STALLED_COUNT',
  'RERANK_SHARD_ATTEMPTS',
  'RERANK_WEBHOOK_ALLOWED_HOSTS',
  'RERANK_TRUST_PROXY',
  'RERANK_SECRET_KEY',
  'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE',
  'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE',
  'RERANK_RATE_LIMIT_ACTIVE_JOBS',
  'RERANK_MAX_METADATA_DEPTH',
  'RERANK_MAX_METADATA_BYTES',
  'RERANK_JOB_LIST_MAX',
  'RERANK_IDEMPOTENCY_LEASE_MS',
  'RERANK_ADMIN_KEYS',
  'RERANK_INFRA_RETRY_MS',
  'RERANK_REDIS_COMMAND_TIMEOUT_MS',
  'RERANK_MAX_QUEUED_PAIRS',
  'RERANK_REDIS_MEMORY_CEILING',
  'RERANK_REDIS_MAXMEMORY',
  'RERANK_DRAIN_TIMEOUT_MS',
  'RERANK_EVENTS_INTERVAL_MS',
  'RERANK_EVENTS_HEARTBEAT_MS',
  'RERANK_EVENTS_MAX_WATCHERS',
  'RERANK_WORKER_SYNC_CONCURRENCY',
  'RERANK_WORKER_TENANT_SLOTS',
  'RERANK_WORKER_MODELS',
  'RERANK_REFUSE_UNSERVED',
  'REDIS_CLUSTER_NODES',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME',
  // Model downloads (read by workers and the CLI through the engine) and the test harness.
  'HF_ENDPOINT',
  'HF_TOKEN',
  'HF_HUB_OFFLINE',
  'RERANK_OFFLINE',
  'RERANK_HARNESS_LOGS',
  // The creation-crash test's hook (RERANK_TEST_FAULT_AFTER, acting only with RERANK_TEST_HOOKS=1).
  'RERANK_TEST_FAULT_AFTER',
  'RERANK_TEST_HOOKS',
  'RERANK_PYTHON',
  'RERANK_PYTHON_VENV',
  'RERANK_REFERENCE_DIR',
  'RERANK_URL',
  'RERANK_API_KEY',
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
    for (const v of CONFIG_VARS) expect(v.doc.length).toBeGreaterThan(20);
  });

  it('applies the documented defaults', () => {
    const c = loadConfig(MODELS);
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.redis.fromEnv).toBe(false);
    expect(c.api.port).toBe(3000);
    expect(c.observability.healthPort).toBeUndefined();
    expect(c.worker.devices).toEqual([{ device: 'cpu' }]);
    expect(c.worker.models).toEqual(['tiny']);
    expect(c.api.keys).toEqual([]);
    const numeric: Record<string, number> = {
      RERANK_MAX_BODY_BYTES: c.limits.maxBodyBytes,
      RERANK_MAX_DOCUMENTS: c.limits.maxDocuments,
      RERANK_MAX_DOCUMENT_CHARS: c.limits.maxDocumentChars,
      RERANK_MAX_QUERIES: c.limits.maxQueries,
      RERANK_MAX_PAIRS: c.limits.maxPairs,
      RERANK_MAX_TOP_K: c.limits.maxTopK,
      RERANK_SYNC_MAX_DOCUMENTS: c.limits.syncMaxDocuments,
      RERANK_SYNC_TIMEOUT_MS: c.api.syncTimeoutMs,
      RERANK_RESULT_TTL_SECONDS: c.jobs.resultTtlSeconds,
      RERANK_SHARD_MAX_PAIRS: c.shard.maxPairs,
      RERANK_SHARD_MAX_CHARS: c.shard.maxChars,
      RERANK_SHARD_MIN_COUNT: c.shard.minShards,
      RERANK_WORKER_CONCURRENCY: c.worker.concurrency,
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
      RERANK_DRAIN_TIMEOUT_MS: c.api.drainTimeoutMs,
      RERANK_EVENTS_INTERVAL_MS: c.events.intervalMs,
      RERANK_EVENTS_HEARTBEAT_MS: c.events.heartbeatMs,
      RERANK_EVENTS_MAX_WATCHERS: c.events.maxWatchers,
      RERANK_WORKER_SYNC_CONCURRENCY: c.worker.syncConcurrency,
      PORT: c.api.port,
    };
    for (const [name, value] of Object.entries(numeric)) {
      expect([name, value]).toEqual([name, Number(declared(name).default)]);
    }
  });

  it('RERANK_HOST: loopback while the API has no keys, every interface (undefined) with keys, else as set', () => {
    expect(loadConfig({}).api.host).toBe('127.0.0.1');
    expect(loadConfig({ RERANK_API_KEYS: 'alice:key-alice-1' }).api.host).toBeUndefined();
    expect(loadConfig({ RERANK_HOST: '0.0.0.0' }).api.host).toBe('0.0.0.0');
    expect(loadConfig({ RERANK_HOST: '::1', RERANK_API_KEYS: 'alice:key-alice-1' }).api.host).toBe('::1');
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.1.2.3')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
    expect(localUrl(undefined, 3000)).toBe('http://127.0.0.1:3000');
    expect(localUrl('::', 3000)).toBe('http://127.0.0.1:3000');
    expect(localUrl('::1', 3000)).toBe('http://[::1]:3000');
    expect(describeBound({ address: '127.0.0.1', family: 'IPv4', port: 3000 })).toBe('127.0.0.1:3000 (this machine only)');
    expect(describeBound({ address: '::', family: 'IPv6', port: 3000 })).toBe('[::]:3000 (every interface)');
    expect(describeBound({ address: '10.0.0.5', family: 'IPv4', port: 80 })).toBe('10.0.0.5:80 (this address only)');
  });

  it('RERANK_WORKER_TENANT_SLOTS: on by default, a flag', () => {
    expect(loadConfig({}).worker.tenantSlots).toBe(true);
    expect(loadConfig({ RERANK_WORKER_TENANT_SLOTS: 'off' }).worker.tenantSlots).toBe(false);
    expect(() => loadConfig({ RERANK_WORKER_TENANT_SLOTS: 'sometimes' })).toThrow(
      /RERANK_WORKER_TENANT_SLOTS="sometimes": expected 1 or 0/,
    );
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
    expect(c.redis.url).toBe('redis://redis:6380/2');
    expect(c.api.port).toBe(8080);
    expect(c.observability.healthPort).toBe(9000);
    expect(c.worker.devices.map((d) => d.device)).toEqual(['cuda:0', 'cuda:1', 'cpu']);
    expect(c.worker.threads).toBe(6);
    expect(c.api.keys).toEqual([
      { label: 'alice', key: 'key-aaaaaaaa' },
      { label: 'key2', key: 'key-bbbbbbbb' },
    ]);
    expect(c.limits.maxTopK).toBe(50);
    expect(c.shard.maxPairs).toBe(256);
    expect(c.queue.maxStalledCount).toBe(9);
  });

  it('names the variable in every error, and reports them all at once', () => {
    const p = problems({
      PORT: 'abc',
      RERANK_MAX_DOCUMENTS: '0',
      RERANK_DEVICES: 'gpu7',
      REDIS_URL: 'http://x',
      RERANK_API_KEYS: 'short',
      ...MODELS,
    });
    expect(p).toHaveLength(5);
    expect(p.join('\n')).toMatch(/PORT="abc": expected an integer from 0 to 65535/);
    expect(p.join('\n')).toMatch(/RERANK_MAX_DOCUMENTS="0": expected an integer from 1/);
    expect(p.join('\n')).toMatch(/RERANK_DEVICES: unknown device "gpu7"/);
    expect(p.join('\n')).toMatch(/REDIS_URL="http:\/\/x"/);
    expect(p.join('\n')).toMatch(/RERANK_API_KEYS: the key labelled "key1" must be at least 8 characters/);
  });

  it('RERANK_DEVICES places models per device (cuda:0=a+b); a device without = serves RERANK_WORKER_MODELS', () => {
    const two = { RERANK_MODELS: 'llm=/m/llm,minilm=/m/minilm,bge=/m/bge' };
    const c = loadConfig({ ...two, RERANK_DEVICES: 'cuda:0=llm, cuda:1=minilm+bge,cpu' });
    expect(c.worker.devices).toEqual([
      { device: 'cuda:0', models: ['llm'] },
      { device: 'cuda:1', models: ['minilm', 'bge'] },
      { device: 'cpu' },
    ]);
    expect(parseDevices('cpu,cuda:0=', '--devices').problems).toEqual([
      '--devices: "cuda:0=" names no model after "="; write cuda:0=model or cuda:0=model1+model2, or just cuda:0 for RERANK_WORKER_MODELS',
    ]);
    expect(problems({ ...two, RERANK_DEVICES: 'cuda:0=llm+gemma' })).toEqual([
      'RERANK_DEVICES: cuda:0 names model "gemma", which is not a model of RERANK_MODELS (llm, minilm, bge)',
    ]);
  });

  it('reads Redis Cluster and Sentinel forms of REDIS_URL, and their list variables', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisUrl('redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'u',
      password: 'p@ss',
      tls: false,
    });
    expect(parseRedisUrl('rediss+sentinel://:secret@s1:26379,s2/mymaster/3')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      db: 3,
      password: 'secret',
      tls: true,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001' }).redis.url).toBe('redis+cluster://a:7000,b:7001');
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster' }).redis.url).toBe(
      'redis+sentinel://s1:26379,s2:26379/mymaster',
    );
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://s1:26379/mymaster' }).redis.fromEnv).toBe(true);
    expect(problems({ REDIS_URL: 'redis+sentinel://s1:26379' })).toEqual([
      'REDIS_URL="redis+sentinel://s1:26379": name the master after the sentinels, e.g. redis+sentinel://s1:26379,s2:26379/mymaster',
    ]);
    expect(problems({ REDIS_URL: 'redis+cluster://a:7000/1' })).toEqual([
      'REDIS_URL="redis+cluster://a:7000/1": a Redis Cluster has no database number; drop the /1',
    ]);
    expect(problems({ REDIS_SENTINELS: 's1:26379' })).toEqual([
      'REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both (or REDIS_URL=redis+sentinel://s1:p1,s2:p2/<name>)',
    ]);
    expect(problems({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:7000' })).toEqual([
      'REDIS_URL and REDIS_CLUSTER_NODES are both set: set one way to reach Redis',
    ]);
    // A cluster configuration switches the process to hash-tagged keys; back to plain ones for the other tests.
    expect(clusterKeysInUse()).toBe(true);
    expect(keys.job('j1')).toBe('rerank:job:{j1}');
    useClusterKeys(false);
    expect(keys.job('j1')).toBe('rerank:job:j1');
  });

  it('reads the listing bound and the admin keys; an admin key is never an API key', () => {
    const d = loadConfig(MODELS);
    expect(d.jobs.listMax).toBe(10000);
    expect(d.api.adminKeys).toEqual([]);
    const c = loadConfig({
      ...MODELS,
      RERANK_JOB_LIST_MAX: '50',
      RERANK_ADMIN_KEYS: 'ops:admin-key-0000, admin-key-1111',
      RERANK_API_KEYS: 'alice:key-aaaaaaaa',
    });
    expect(c.jobs.listMax).toBe(50);
    expect(c.api.adminKeys).toEqual([
      { label: 'ops', key: 'admin-key-0000' },
      { label: 'key2', key: 'admin-key-1111' },
    ]);
    expect(problems({ ...MODELS, RERANK_JOB_LIST_MAX: '0', RERANK_ADMIN_KEYS: 'ops:short' })).toEqual([
      'RERANK_ADMIN_KEYS: the key labelled "ops" must be at least 8 characters without spaces',
      'RERANK_JOB_LIST_MAX="0": expected an integer from 1 to 1000000 (default 10000)',
    ]);
    expect(problems({ ...MODELS, RERANK_ADMIN_KEYS: 'ops:key-aaaaaaaa', RERANK_API_KEYS: 'alice:key-aaaaaaaa' })).toEqual([
      'RERANK_ADMIN_KEYS: the key labelled "ops" is also the API key "alice" of RERANK_API_KEYS; give the dashboard a key of its own',
    ]);
  });

  it('requires RERANK_MODELS where asked, with what to do', () => {
    expect(problems({}, true)[0]).toMatch(/^RERANK_MODELS: not set; list the models/);
    expect(problems({}, false)).toEqual([]);
  });

  it('parses models as JSON or shorthand, and explains mistakes', () => {
    const models = (RERANK_MODELS: string) => loadConfig({ RERANK_MODELS }).models.list;
    expect(models('a=/m/a, b=BAAI/bge-reranker-base')).toEqual([
      { name: 'a', path: '/m/a' },
      { name: 'b', path: 'BAAI/bge-reranker-base' },
    ]);
    expect(models('[{"name":"x","path":"/m/x","family":"llm","options":{"maxLength":256}}]')).toEqual([
      { name: 'x', path: '/m/x', family: 'llm', options: { maxLength: 256 } },
    ]);
    expect(problems({ RERANK_MODELS: '[{"name":"x","path":"/m","family":"decoder"}]' })).toEqual([
      'RERANK_MODELS[0].family: expected one of encoder, llm, layerwise, lightweight, qwen3, got "decoder"',
    ]);
    expect(problems({ RERANK_MODELS: '[{"name":"x","path":"/m","size":3}]' })).toEqual([
      'RERANK_MODELS[0]: unknown key "size" (known: name, path, family, options, generated)',
    ]);
    expect(problems({ RERANK_MODELS: '[{"name":"x y","path":" "},{"path":"/m"}]' })).toEqual([
      'RERANK_MODELS[0].name: expected a name of letters, digits and . _ - : / (at most 128), got "x y"',
      'RERANK_MODELS[0].path: expected a model directory or hub id, got ""',
      'RERANK_MODELS[1].name: expected a name of letters, digits and . _ - : / (at most 128), got undefined',
    ]);
    expect(problems({ RERANK_MODELS: '{"name":"x","path":"/m"}' })).toEqual([
      'RERANK_MODELS: the JSON form must be an array of {"name","path","family"?,"options"?}',
    ]);
    expect(problems({ RERANK_MODELS: 'a=/x,a=/y' })).toEqual(['RERANK_MODELS: model name "a" is listed twice']);
    expect(problems({ RERANK_MODELS: 'just-a-path' })).toEqual([
      'RERANK_MODELS: "just-a-path" is not name=path; use name=path,name2=path2 or the JSON form',
    ]);
    expect(problems({ RERANK_MODELS: '[]' })).toEqual(['RERANK_MODELS: lists no model']);
    expect(problems({ RERANK_MODELS: '[{"name":' })[0]).toMatch(/^RERANK_MODELS: not valid JSON \(.+\); use \[\{"name"/);
  });

  it('launcher: splits CPU threads, backs off restarts', () => {
    expect(threadPlan(['cpu', 'cpu'], 8)).toEqual([4, 4]);
    expect(threadPlan(['cpu', 'cpu', 'cpu'], 2)).toEqual([1, 1, 1]);
    expect(threadPlan(['cuda:0', 'cuda:1', 'cpu'], 8)).toEqual([2, 2, 8]);
    expect([0, 1, 2, 3, 10].map(restartDelay)).toEqual([1000, 2000, 4000, 8000, 30000]);
  });

  it('refuses a RERANK_* variable that nothing declares, naming the closest declared one', () => {
    expect(problems({ ...MODELS, RERANK_MAX_DOCUMENT: '5' })).toEqual([
      'RERANK_MAX_DOCUMENT: unknown variable, no process reads it; did you mean RERANK_MAX_DOCUMENTS? (every variable: docs/deploy.md, Configuration)',
    ]);
    // All of them at once, sorted, together with bad values.
    const p = problems({ ...MODELS, RERANK_WEBHOOK_ALLOWED_HOST: '10.0.0.0/8', RERANK_SHARD_MAX_PAIR: '9', RERANK_SYNC_TIMEOUT_MS: '5' });
    expect(p).toEqual([
      'RERANK_SHARD_MAX_PAIR: unknown variable, no process reads it; did you mean RERANK_SHARD_MAX_PAIRS? (every variable: docs/deploy.md, Configuration)',
      'RERANK_WEBHOOK_ALLOWED_HOST: unknown variable, no process reads it; did you mean RERANK_WEBHOOK_ALLOWED_HOSTS? (every variable: docs/deploy.md, Configuration)',
      'RERANK_SYNC_TIMEOUT_MS="5": expected an integer from 100 to 9007199254740991 (default 30000)',
    ]);
    // Only the RERANK_ prefix is ours: other variables of the environment pass.
    expect(problems({ ...MODELS, PATH: '/usr/bin', NODE_OPTIONS: '--max-old-space-size=4096', HF_HOME: '/x', rerank_lower: '1' })).toEqual(
      [],
    );
  });

  it('knows a variable declared for any process in every process (tests give one env to all)', () => {
    // RERANK_REDIS_MAXMEMORY is read by `npm start` only, RERANK_HARNESS_LOGS by the test harness only.
    expect(declared('RERANK_REDIS_MAXMEMORY').readers).toEqual(['stack']);
    expect(declared('RERANK_HARNESS_LOGS').readers).toEqual(['harness']);
    const c = loadConfig({ ...MODELS, RERANK_REDIS_MAXMEMORY: '2gb', RERANK_HARNESS_LOGS: '1', RERANK_DATA_DIR: '/tmp/x' });
    expect(c.stack.redisMaxmemory).toBe('2gb');
    expect(c.data.dir).toBe('/tmp/x');
    expect(unknownVariables(NAMES, { RERANK_REDIS_MAXMEMORY: '2gb', RERANK_HARNESS_LOGS: '1' })).toEqual([]);
  });

  it('did-you-mean: edit distance, the closest declared name', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('RERANK_THREADS', 'RERANK_THREADS')).toBe(0);
    expect(closestName('RERANK_THREAD', NAMES)).toBe('RERANK_THREADS');
    expect(closestName('RERANK_DEVICE', NAMES)).toBe('RERANK_DEVICES');
    expect(closestName('RERANK_APIKEYS', NAMES)).toBe('RERANK_API_KEYS');
    expect(closestName('RERANK_RATE_LIMIT_ACTIVE_JOB', NAMES)).toBe('RERANK_RATE_LIMIT_ACTIVE_JOBS');
    expect(closestName('RERANK_OFLINE', NAMES)).toBe('RERANK_OFFLINE');
  });

  it('type and range errors name the variable, the value and what is expected', () => {
    const p = problems({
      ...MODELS,
      RERANK_WORKER_CONCURRENCY: '65',
      RERANK_MAX_BODY_BYTES: '1023',
      HEALTH_PORT: '-1',
      RERANK_THREADS: '2.5',
      RERANK_REDIS_MEMORY_CEILING: '1.5',
      RERANK_REDIS_MAXMEMORY: '2 gigabytes',
      HF_HUB_OFFLINE: 'maybe',
      HF_ENDPOINT: 'ftp://hub.example',
      RERANK_SECRET_KEY: 'short',
      RERANK_TRUST_PROXY: '10.0.0.0/99',
    });
    // In the order of the sections (models, worker, api, limits, backpressure, webhook, observability, stack).
    expect(p).toEqual([
      'HF_ENDPOINT="ftp://hub.example": expected the http(s) URL of a Hugging Face-compatible hub, e.g. https://huggingface.co',
      'HF_HUB_OFFLINE="maybe": expected 1 or 0 (true/false, yes/no, on/off)',
      'RERANK_THREADS="2.5": expected an integer from 1 to 1024',
      'RERANK_WORKER_CONCURRENCY="65": expected an integer from 1 to 64 (default 2)',
      expect.stringMatching(/^RERANK_TRUST_PROXY: .*10\.0\.0\.0\/99.* \(or true to trust any peer\)$/),
      'RERANK_MAX_BODY_BYTES="1023": expected an integer from 1024 to 9007199254740991 (default 33554432)',
      'RERANK_REDIS_MEMORY_CEILING="1.5": expected a fraction above 0 and at most 1, e.g. 0.9 (default 0.9)',
      'RERANK_SECRET_KEY: at least 32 characters, got 5; generate one with `openssl rand -base64 32`',
      'HEALTH_PORT="-1": expected an integer from 0 to 65535',
      'RERANK_REDIS_MAXMEMORY="2 gigabytes": expected a size in Redis units, e.g. 512mb or 2gb (0: no limit, not recommended) (default 1gb)',
    ]);
    // Range ends are inclusive; blank means unset (the default).
    const c = loadConfig({
      ...MODELS,
      RERANK_WORKER_CONCURRENCY: '64',
      RERANK_MAX_BODY_BYTES: '1024',
      HEALTH_PORT: '0',
      RERANK_REDIS_MEMORY_CEILING: '1',
      RERANK_MAX_TOP_K: '  ',
    });
    expect([
      c.worker.concurrency,
      c.limits.maxBodyBytes,
      c.observability.healthPort,
      c.backpressure.redisMemoryCeiling,
      c.limits.maxTopK,
    ]).toEqual([64, 1024, 0, 1, 1000]);
  });

  it('reads model download settings for the workers to pass to the engine', () => {
    expect(loadConfig(MODELS).models.hub).toEqual({ endpoint: undefined, token: undefined, offline: false });
    expect(loadConfig({ ...MODELS, HF_ENDPOINT: 'https://hub.internal/', HF_TOKEN: 'hf_abc', RERANK_OFFLINE: 'true' }).models.hub).toEqual({
      endpoint: 'https://hub.internal/',
      token: 'hf_abc',
      offline: true,
    });
    expect(loadConfig({ ...MODELS, HF_HUB_OFFLINE: '1', RERANK_OFFLINE: '0' }).models.hub.offline).toBe(true);
    expect(loadConfig({ ...MODELS, HF_HUB_OFFLINE: 'off' }).models.hub.offline).toBe(false);
  });

  it('every declaration: a default its own type accepts, known processes, a type label', () => {
    for (const v of CONFIG_VARS) {
      if (v.default !== undefined)
        expect({ name: v.name, default: v.type.schema.safeParse(v.default).success }).toEqual({ name: v.name, default: true });
      expect({
        name: v.name,
        readers: v.readers.length > 0 && v.readers.every((p) => (PROCESSES as readonly string[]).includes(p)),
      }).toEqual({ name: v.name, readers: true });
      expect(v.type.label.length).toBeGreaterThan(3);
      // A variable without a default says in words what applies while unset.
      if (v.default === undefined) expect({ name: v.name, unset: typeof v.unset }).toEqual({ name: v.name, unset: 'string' });
    }
    // Each is read in the section it is declared in: RERANK_WORKER_CONCURRENCY as config.worker.concurrency.
    expect(Object.keys(loadConfig(MODELS))).toEqual(Object.keys(SECTIONS));
    expect([declared('RERANK_WORKER_CONCURRENCY').section, SECTIONS.worker.vars.concurrency.name]).toEqual([
      'worker',
      'RERANK_WORKER_CONCURRENCY',
    ]);
  });

  it('a process that reads one section alone gets its values or its problems', () => {
    expect(readSection('client', {})).toEqual({ value: { url: 'http://localhost:3000' } });
    expect(
      readSection('client', { RERANK_URL: 'https://rerank.internal/', RERANK_API_KEY: 'key-aaaaaaaa', RERANK_DEVICES: 'gpu7' }),
    ).toEqual({
      value: { url: 'https://rerank.internal/', apiKey: 'key-aaaaaaaa' },
    });
    expect(readSection('client', { RERANK_URL: 'ftp://x' })).toEqual({
      problems: [
        'RERANK_URL="ftp://x": expected the http(s) base URL of the rerank API, e.g. http://localhost:3000 (default http://localhost:3000)',
      ],
    });
    expect(readSection('harness', { RERANK_HARNESS_LOGS: 'yes' })).toEqual({ value: { logs: true } });
  });

  it('docs/deploy.md: the configuration table is the one generated from the schema (npm run docs:config)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'deploy.md'), 'utf8');
    expect(withConfigTable(doc)).toBe(doc);
    const table = configTable().split('\n');
    expect(table).toHaveLength(CONFIG_VARS.length + 2);
    expect(table[0]).toBe('| variable | section | default | type | used by | what it does |');
    // One row per variable, with its section, default, type and readers.
    expect(table.find((r) => r.startsWith('| `RERANK_WORKER_CONCURRENCY` |'))).toBe(
      `| \`RERANK_WORKER_CONCURRENCY\` | worker | \`2\` | integer 1–64 | workers | ${declared('RERANK_WORKER_CONCURRENCY').doc} |`,
    );
    expect(table.find((r) => r.startsWith('| `RERANK_SECRET_KEY` |'))).toMatch(
      /^\| `RERANK_SECRET_KEY` \| webhook \| none: plain text, a warning at start \| text, ≥ 32 characters \| API, aggregator \| /,
    );
    expect(table.find((r) => r.startsWith('| `RERANK_REDIS_MAXMEMORY` |'))).toMatch(/\| `npm start` \|/);
    // A stale table is noticed: the generator rewrites exactly the text between the markers.
    const stale = doc.replace(/\| `PORT` \| api \| `3000` \|/, '| `PORT` | api | `8080` |');
    expect(stale).not.toBe(doc);
    expect(withConfigTable(stale)).toBe(doc);
    expect(() => withConfigTable(doc.replace(CONFIG_TABLE_END, ''))).toThrow(/markers/);
    expect(doc.indexOf(CONFIG_TABLE_START)).toBeGreaterThan(0);
  });

  it('a real process with a misspelled variable refuses to start (exit 2) and says what it meant', async () => {
    const app = spawnApp('aggregator', { REDIS_URL: 'redis://127.0.0.1:1', HEALTH_PORT: '0', RERANK_WEBHOOK_ATEMPTS: '3' });
    expect(await app.exited).toBe(2);
    expect(app.output()).toMatch(/RERANK_WEBHOOK_ATEMPTS: unknown variable, no process reads it; did you mean RERANK_WEBHOOK_ATTEMPTS\?/);
  });
});
