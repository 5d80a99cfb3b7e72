/**
 * Every environment variable of the service, declared once, in the section of the configuration
 * that reads it: `config.worker` is what a worker's classes take, `config.limits` what the
 * validation takes, and so on. A declaration gives the variable's name, its value type (zod, with
 * its range), its default (or what applies while unset), which processes read it, and its doc. The
 * typed configuration (`RerankConfig`, load.ts), the docs' table (`npm run docs:config`, docs.ts),
 * the refusal of undeclared `RERANK_*` variables and the deploy checks (test/deploy) all come from
 * these declarations. A section's second argument derives values that several variables give
 * together (the Redis URL from its three forms, the hub's offline switch from two variables).
 *
 * A new variable: one `envVar` line in its section; read it as `config.<section>.<key>`.
 */
import { availableParallelism } from 'node:os';
import type { z } from 'zod';
import { LOG_LEVELS } from '../logger';
import { HostList } from '../net/address-policy';
import { MIN_SECRET_KEY_CHARS } from '../net/secret-box';
import { parseRedisUrl } from '../redis';
import { envVar, section } from './env';
import { deviceList, hostList, keyList, modelList, modelNames, redisUrl, trustedProxies } from './structured-values';
import { directory, flag, fraction, int, oneOf, redisSize, text, url } from './values';

const redis = section(
  {
    url: envVar('REDIS_URL', redisUrl(), {
      unset: '`redis://127.0.0.1:6379`; `npm start` runs its own',
      readers: ['api', 'worker', 'aggregator', 'stack'],
      doc: 'Redis connection URL (redis://[user:pass@]host:port[/db], rediss:// for TLS; redis+cluster://[user:pass@]h1:p1,h2:p2 for a Redis Cluster, redis+sentinel://[user:pass@]s1:p1,s2:p2/<master name>[/db] for Sentinel; docs/deploy.md). Apps connect to redis://127.0.0.1:6379 when unset; `npm start` starts its own redis-server instead.',
    }),
    clusterNodes: envVar('REDIS_CLUSTER_NODES', text(), {
      unset: 'not a cluster',
      readers: ['api', 'worker', 'aggregator'],
      doc: 'Redis Cluster nodes, comma-separated host:port (any reachable masters; the rest are discovered). Same as REDIS_URL=redis+cluster://h1:p1,h2:p2; set one of the two.',
    }),
    sentinels: envVar('REDIS_SENTINELS', text(), {
      unset: 'no Sentinel',
      readers: ['api', 'worker', 'aggregator'],
      doc: 'Redis Sentinels, comma-separated host:port; with REDIS_SENTINEL_NAME. Same as REDIS_URL=redis+sentinel://s1:p1,s2:p2/<name>; set one of the two.',
    }),
    sentinelName: envVar('REDIS_SENTINEL_NAME', text(), {
      unset: 'no Sentinel',
      readers: ['api', 'worker', 'aggregator'],
      doc: 'The master name the Sentinels monitor (sentinel monitor <name> ...); with REDIS_SENTINELS.',
    }),
    commandTimeoutMs: envVar('RERANK_REDIS_COMMAND_TIMEOUT_MS', int(100), {
      default: '5000',
      readers: ['api'],
      doc: 'The API fails a Redis command after this long (503) instead of waiting for Redis; while Redis is disconnected it answers 503 at once.',
    }),
    infraRetryMs: envVar('RERANK_INFRA_RETRY_MS', int(0), {
      default: '300000',
      readers: ['worker', 'aggregator'],
      doc: 'How long workers and the aggregator keep retrying a Redis write or read that fails for infrastructure reasons (connection lost, OOM under maxmemory, MISCONF when Redis cannot persist, e.g. on a full disk, READONLY during a failover, timeouts), with backoff, before the shard or job fails with the reason. These retries do not use RERANK_SHARD_ATTEMPTS.',
    }),
  },
  (r, ctx) => ({
    url: redisUrlOf(r, ctx),
    fromEnv: r.url !== undefined || r.clusterNodes !== undefined || r.sentinels !== undefined,
    commandTimeoutMs: r.commandTimeoutMs,
    infraRetryMs: r.infraRetryMs,
  }),
);

const models = section(
  {
    list: envVar('RERANK_MODELS', modelList(), {
      unset: '(required; `npm start`: a generated test model)',
      readers: ['api', 'worker', 'stack'],
      doc: 'Models to serve: a JSON array [{"name","path","family"?,"options"?}] or the shorthand name=path,name2=path2 (path: model directory or hub id). Unset: `npm start` generates and serves a tiny test model; the other apps refuse to start.',
    }),
    cacheDir: envVar('RERANK_CACHE_DIR', text(), {
      unset: '`~/.cache/rerank`; `/models` in the images',
      readers: ['worker', 'cli'],
      doc: 'Engine model cache (hub downloads, names looked up by the engine): the models volume in the images; default ~/.cache/rerank.',
    }),
    hubEndpoint: envVar(
      'HF_ENDPOINT',
      url(['http', 'https'], 'the http(s) URL of a Hugging Face-compatible hub, e.g. https://huggingface.co'),
      {
        unset: '`https://huggingface.co`',
        readers: ['worker', 'cli'],
        doc: 'Hugging Face-compatible hub that model ids are downloaded from (a mirror); leave it unset rather than empty.',
      },
    ),
    hubToken: envVar('HF_TOKEN', text(), {
      unset: 'none',
      readers: ['worker', 'cli'],
      doc: 'Token for private or gated hub repositories.',
    }),
    hubOffline: envVar('HF_HUB_OFFLINE', flag(), {
      unset: 'off',
      readers: ['worker', 'cli'],
      doc: '1: never download a model; use what is in RERANK_CACHE_DIR.',
    }),
    offline: envVar('RERANK_OFFLINE', flag(), {
      unset: 'off',
      readers: ['worker', 'cli'],
      doc: '1: never download a model (the same as HF_HUB_OFFLINE).',
    }),
  },
  (m) => ({
    list: m.list ?? [],
    fromEnv: m.list !== undefined,
    cacheDir: m.cacheDir,
    /** Model downloads, passed to the engine by workers. */
    hub: { endpoint: m.hubEndpoint, token: m.hubToken, offline: m.hubOffline === true || m.offline === true },
  }),
);

const worker = section(
  {
    devices: envVar('RERANK_DEVICES', deviceList(), {
      default: 'cpu',
      readers: ['launcher', 'worker', 'stack'],
      doc: 'Devices of the worker launcher, one worker process each: cpu, cuda:0, cuda:1, ... comma separated (cpu may repeat); the GPU image sets cuda:0. Model placement per device: cuda:0=llm,cuda:1=minilm+bge (names of RERANK_MODELS joined by +); a device without = serves RERANK_WORKER_MODELS.',
    }),
    threads: envVar('RERANK_THREADS', int(1, 1024), {
      unset: 'CPU cores',
      readers: ['launcher', 'worker'],
      doc: "CPU threads for scoring (default: the number of CPU cores). The launcher splits them across its CPU workers; a worker uses them as the runtime intra-op threads (GPU workers at most 2). In a container set it to its CPU limit: Node sees the host's cores.",
    }),
    concurrency: envVar('RERANK_WORKER_CONCURRENCY', int(1, 64), {
      default: '2',
      readers: ['worker'],
      doc: "Shards one worker scores at once. Two keep its device busy while the other shard's texts are read from and its scores written to Redis, and tokenized; the engine interleaves their batches.",
    }),
    syncConcurrency: envVar('RERANK_WORKER_SYNC_CONCURRENCY', int(1, 64), {
      default: '4',
      readers: ['worker'],
      doc: "Synchronous request parts one worker scores at once, besides its RERANK_WORKER_CONCURRENCY shards: they come from their own queue, so a request never waits for a shard to end, and their batches go to the device ahead of the shards' batches.",
    }),
    tenantSlots: envVar('RERANK_WORKER_TENANT_SLOTS', flag(), {
      default: '1',
      readers: ['worker'],
      doc: "1: while its RERANK_WORKER_CONCURRENCY shard slots are busy, a worker takes up to as many more shards, each only when the next one waiting belongs to a tenant (API key) holding fewer than RERANK_WORKER_CONCURRENCY shards on it; so another tenant's job starts within a moment instead of after the shards in flight, and the engine shares the device between the tenants. 0: only the fixed slots.",
    }),
    models: envVar('RERANK_WORKER_MODELS', modelNames(), {
      unset: 'every model of RERANK_MODELS',
      readers: ['launcher', 'worker'],
      doc: "Model placement: the names (of RERANK_MODELS) this launcher's workers load and serve, comma separated; each model has its own queues, so a worker takes only its models' shards. Unset: every configured model. The API answers 503 (unavailable, Retry-After) for a model no live worker serves.",
    }),
  },
  (w) => ({ ...w, threads: w.threads ?? availableParallelism() }),
);

const api = section(
  {
    port: envVar('PORT', int(0, 65535), {
      default: '3000',
      readers: ['api', 'stack'],
      doc: 'HTTP port of the API.',
    }),
    host: envVar('RERANK_HOST', text({ hint: 'an address to listen on: 0.0.0.0, ::, 127.0.0.1, or a hostname' }), {
      unset: '`127.0.0.1` without RERANK_API_KEYS, every interface with them',
      readers: ['api', 'stack'],
      doc: "Address the API listens on (the API's and `npm start`'s `--host` too). Unset: 127.0.0.1 (this machine only) while RERANK_API_KEYS is unset, since the API is then open to whoever reaches it; every interface once keys are set. The images and manifests set 0.0.0.0.",
    }),
    keys: envVar('RERANK_API_KEYS', keyList(), {
      unset: 'none (API open, with a warning)',
      readers: ['api'],
      doc: 'API keys, comma separated, each optionally as label:key; keys of 8+ characters without spaces. A job is visible only to its key. Unset: the API runs open (a warning is logged).',
    }),
    adminKeys: envVar('RERANK_ADMIN_KEYS', keyList(), {
      unset: 'none: no queue dashboard',
      readers: ['api'],
      doc: 'Admin keys, comma separated, each optionally as label:key (8+ characters, none of RERANK_API_KEYS): the queue dashboard at /admin/queues (Bull Board, read-only) answers only to them (Authorization: Bearer <key>, or Basic with the key as password in a browser). Unset: the dashboard is not served.',
    }),
    trustProxy: envVar('RERANK_TRUST_PROXY', trustedProxies(), {
      unset: 'none: X-Forwarded-* ignored',
      readers: ['api'],
      doc: "Whose X-Forwarded-Proto/Host the API believes when building job links: true (any peer: only behind a proxy that overwrites them) or the proxies' addresses/CIDRs, comma separated. Unset: X-Forwarded-* is ignored.",
    }),
    syncTimeoutMs: envVar('RERANK_SYNC_TIMEOUT_MS', int(100), {
      default: '30000',
      readers: ['api'],
      doc: 'How long a synchronous request waits for a worker before 504.',
    }),
    drainTimeoutMs: envVar('RERANK_DRAIN_TIMEOUT_MS', int(0), {
      default: '25000',
      readers: ['api'],
      doc: "On SIGTERM the API stops accepting connections and waits this long for in-flight requests (synchronous reranks included) before it answers what is left with 503 and exits; keep it below the orchestrator's grace period.",
    }),
    refuseUnserved: envVar('RERANK_REFUSE_UNSERVED', oneOf(['sync', 'all', 'none']), {
      default: 'all',
      readers: ['api'],
      doc: 'Model placement: which requests for a model that no live worker serves (heartbeats) get 503 unavailable with Retry-After and nothing stored. all: synchronous requests and jobs; sync: synchronous requests only, jobs are queued until a worker comes (scale from zero: a queued job is what wakes the autoscaler); none: everything is queued. With sync or none the API is ready while Redis answers; with all, while some model has a live worker.',
    }),
  },
  (a) => ({
    ...a,
    keys: a.keys ?? [],
    adminKeys: a.adminKeys ?? [],
    trustProxy: a.trustProxy ?? null,
    /** undefined: every interface. */
    host: a.host ?? (a.keys?.length ? undefined : '127.0.0.1'),
  }),
);

const limits = section({
  maxBodyBytes: envVar('RERANK_MAX_BODY_BYTES', int(1024), {
    default: '33554432',
    readers: ['api'],
    doc: 'Largest request body in bytes (413 beyond).',
  }),
  maxDocuments: envVar('RERANK_MAX_DOCUMENTS', int(1), {
    default: '100000',
    readers: ['api'],
    doc: 'Most documents in one request (all queries together).',
  }),
  maxDocumentChars: envVar('RERANK_MAX_DOCUMENT_CHARS', int(1), {
    default: '20000',
    readers: ['api'],
    doc: 'Most characters in one document or query.',
  }),
  maxQueries: envVar('RERANK_MAX_QUERIES', int(1), {
    default: '100',
    readers: ['api'],
    doc: 'Most queries in one job.',
  }),
  maxPairs: envVar('RERANK_MAX_PAIRS', int(1), {
    default: '1000000',
    readers: ['api'],
    doc: 'Most (query, document) pairs in one job.',
  }),
  maxTopK: envVar('RERANK_MAX_TOP_K', int(1), {
    default: '1000',
    readers: ['api'],
    doc: 'Largest top_k / top_n accepted (larger: 400 naming it). A synchronous request without top_n gets every document, not this many.',
  }),
  syncMaxDocuments: envVar('RERANK_SYNC_MAX_DOCUMENTS', int(1), {
    default: '10000',
    readers: ['api'],
    doc: 'Most documents of a synchronous /v1/rerank or /v2/rerank request (cut into shard-sized parts that workers share); larger ones get 413 pointing to /v1/jobs.',
  }),
  maxMetadataDepth: envVar('RERANK_MAX_METADATA_DEPTH', int(1, 1000), {
    default: '32',
    readers: ['api'],
    doc: "Deepest nesting of a job's `metadata` (objects and lists inside it); deeper is a 400.",
  }),
  maxMetadataBytes: envVar('RERANK_MAX_METADATA_BYTES', int(2), {
    default: '16384',
    readers: ['api'],
    doc: 'Largest `metadata` of a job, in bytes as JSON; larger is a 400.',
  }),
});

const rateLimits = section({
  requestsPerMinute: envVar('RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE', int(0), {
    default: '3000',
    readers: ['api'],
    doc: 'Requests per minute per API key (open API: all clients together) on /v1/rerank, /v2/rerank, /v1/jobs and /v1/models, shared by all API replicas; 429 with Retry-After beyond. 0: no limit.',
  }),
  pairsPerMinute: envVar('RERANK_RATE_LIMIT_PAIRS_PER_MINUTE', int(0), {
    default: '5000000',
    readers: ['api'],
    doc: '(query, document) pairs per minute per API key, synchronous requests and jobs together; 429 with Retry-After beyond. 0: no limit.',
  }),
  activeJobs: envVar('RERANK_RATE_LIMIT_ACTIVE_JOBS', int(0), {
    default: '200',
    readers: ['api'],
    doc: 'Jobs per API key queued or running at once; 429 beyond until one ends. 0: no limit.',
  }),
});

const backpressure = section({
  maxQueuedPairs: envVar('RERANK_MAX_QUEUED_PAIRS', int(0), {
    default: '20000000',
    readers: ['api'],
    doc: 'Backpressure: the API answers 503 (code overloaded, Retry-After) to a new job or synchronous request while the pairs of unfinished jobs plus its own would pass this; 0 turns the check off. At least RERANK_MAX_PAIRS.',
  }),
  redisMemoryCeiling: envVar('RERANK_REDIS_MEMORY_CEILING', fraction(), {
    default: '0.9',
    readers: ['api'],
    doc: 'Backpressure: the API answers 503 (code overloaded, Retry-After) to a new job or synchronous request while Redis used_memory is above this fraction of its maxmemory (0 < x <= 1; INFO memory, read at most once a second). No check when Redis has no maxmemory.',
  }),
});

const shard = section({
  maxPairs: envVar('RERANK_SHARD_MAX_PAIRS', int(1), {
    default: '1000',
    readers: ['api'],
    doc: 'Most pairs in one shard (the unit of work a worker takes).',
  }),
  maxChars: envVar('RERANK_SHARD_MAX_CHARS', int(1), {
    default: '1000000',
    readers: ['api'],
    doc: 'Most characters (query + document, summed over pairs) in one shard.',
  }),
  minShards: envVar('RERANK_SHARD_MIN_COUNT', int(1, 10000), {
    default: '16',
    readers: ['api'],
    doc: 'A job is cut into at least this many shards of similar cost when its pairs allow (down to 32 pairs per shard), so several workers share even a small job evenly.',
  }),
});

const queue = section({
  lockDurationMs: envVar('RERANK_LOCK_DURATION_MS', int(1000), {
    default: '10000',
    readers: ['worker', 'aggregator'],
    doc: "BullMQ lock of a shard being scored, renewed by its worker every half of it; a worker that dies loses its shard to another within this plus RERANK_STALLED_INTERVAL_MS (about 12 s with the defaults). Keep it above twice the longest pause of a worker's event loop.",
  }),
  stalledIntervalMs: envVar('RERANK_STALLED_INTERVAL_MS', int(500), {
    default: '2000',
    readers: ['worker', 'aggregator'],
    doc: 'How often workers (and the aggregator, for its queues) look for stalled shards of dead processes and queue them again; one cheap Redis script per interval across all workers.',
  }),
  maxStalledCount: envVar('RERANK_MAX_STALLED_COUNT', int(1, 1000), {
    default: '5',
    readers: ['worker', 'aggregator'],
    doc: 'How many times a shard may stall (its worker killed) before it fails.',
  }),
  shardAttempts: envVar('RERANK_SHARD_ATTEMPTS', int(1, 100), {
    default: '3',
    readers: ['api', 'aggregator'],
    doc: 'Attempts of a shard that throws (engine errors) before it fails the job.',
  }),
});

const jobs = section({
  resultTtlSeconds: envVar('RERANK_RESULT_TTL_SECONDS', int(1), {
    default: '86400',
    readers: ['api', 'aggregator'],
    doc: 'How long a finished job, its results and its idempotency key stay in Redis.',
  }),
  listMax: envVar('RERANK_JOB_LIST_MAX', int(1, 1000000), {
    default: '10000',
    readers: ['api'],
    doc: 'GET /v1/jobs: the newest jobs per API key kept in its listing index (older ones drop out of the listing but stay readable by id until they expire).',
  }),
  idempotencyLeaseMs: envVar('RERANK_IDEMPOTENCY_LEASE_MS', int(1000, 600000), {
    default: '10000',
    readers: ['api'],
    doc: "How long an Idempotency-Key is held for a job being created, renewed at each step of the creation: when the API dies before the job's shards are queued, a retry with the same key takes it over after at most this long (409 idempotency_key_in_use with Retry-After until then). Keep it above RERANK_REDIS_COMMAND_TIMEOUT_MS + 1 s (queueing a job's shards gives up after that long).",
  }),
});

const events = section({
  intervalMs: envVar('RERANK_EVENTS_INTERVAL_MS', int(20, 10000), {
    default: '250',
    readers: ['api'],
    doc: "GET /v1/jobs/{id}/events: the most often a watcher is sent progress and partial events (shards finishing faster are folded into the next ones), and how long the API's one read of every watched job's event log waits.",
  }),
  heartbeatMs: envVar('RERANK_EVENTS_HEARTBEAT_MS', int(100, 300000), {
    default: '15000',
    readers: ['api'],
    doc: 'GET /v1/jobs/{id}/events: a comment line is sent on every open stream this often, so proxies keep quiet connections open.',
  }),
  maxWatchers: envVar('RERANK_EVENTS_MAX_WATCHERS', int(1, 1000000), {
    default: '10000',
    readers: ['api'],
    doc: 'GET /v1/jobs/{id}/events: open streams one API process serves at most; past it, 503 overloaded with Retry-After.',
  }),
});

const webhook = section(
  {
    attempts: envVar('RERANK_WEBHOOK_ATTEMPTS', int(1, 100), {
      default: '8',
      readers: ['api', 'aggregator'],
      doc: 'Delivery attempts of a webhook before its failure is recorded on the job.',
    }),
    backoffMs: envVar('RERANK_WEBHOOK_BACKOFF_MS', int(1), {
      default: '2000',
      readers: ['api', 'aggregator'],
      doc: 'First retry delay of a webhook; doubles with each attempt (exponential backoff).',
    }),
    timeoutMs: envVar('RERANK_WEBHOOK_TIMEOUT_MS', int(100), {
      default: '10000',
      readers: ['aggregator'],
      doc: 'Timeout of one webhook POST.',
    }),
    inlineMax: envVar('RERANK_WEBHOOK_INLINE_MAX', int(0), {
      default: '100',
      readers: ['aggregator'],
      doc: 'Webhooks carry the results inline when the job has at most this many top-k entries (all queries together); otherwise only the link.',
    }),
    allowedHosts: envVar('RERANK_WEBHOOK_ALLOWED_HOSTS', hostList(), {
      unset: 'none: public addresses only',
      readers: ['api', 'aggregator'],
      doc: 'Internal webhook receivers allowed despite the SSRF guard: hostnames and CIDRs, comma separated (e.g. 10.0.0.0/8,hooks.internal). Unset: webhook URLs whose host is or resolves to a loopback, private, link-local, CGNAT, multicast or unspecified address are refused. Set it on the API and the aggregator alike.',
    }),
    secretKey: envVar('RERANK_SECRET_KEY', text({ minLength: MIN_SECRET_KEY_CHARS, hint: 'generate one with `openssl rand -base64 32`' }), {
      unset: 'none: plain text, a warning at start',
      readers: ['api', 'aggregator'],
      doc: 'Encrypts webhook secrets at rest in Redis (AES-256-GCM; at least 32 characters, e.g. `openssl rand -base64 32`). Set the same value on the API and the aggregator. Unset: secrets are stored in plain text (a warning is logged).',
    }),
  },
  (w) => ({ ...w, allowedHosts: w.allowedHosts ?? new HostList() }),
);

const observability = section({
  healthPort: envVar('HEALTH_PORT', int(0, 65535), {
    unset: '8081 launcher, 8082 aggregator',
    readers: ['launcher', 'aggregator', 'stack'],
    doc: 'Port of the /health/live and /health/ready endpoints of the worker launcher and the aggregator (default 8081 for the launcher, 8082 for the aggregator; 0 turns the health server off).',
  }),
  logLevel: envVar('LOG_LEVEL', oneOf(LOG_LEVELS, 'log level'), {
    default: 'info',
    readers: ['api', 'launcher', 'worker', 'aggregator', 'stack'],
    doc: 'Least severe log lines written: fatal, error, warn, info (default), debug, trace or silent. Lines are JSON (one object per line) unless stdout is a terminal, where they are colored text.',
  }),
});

const data = section({
  dir: envVar('RERANK_DATA_DIR', directory(), {
    default: './data',
    readers: ['api', 'worker', 'aggregator', 'stack'],
    doc: 'Where `npm start` keeps redis persistence (<dir>/redis) and the generated test model (<dir>/models), and, with RERANK_DOCUMENT_STORE=files, where every process keeps job texts (<dir>/documents).',
  }),
  documentStore: envVar('RERANK_DOCUMENT_STORE', oneOf(['redis', 'files'], 'redis or files'), {
    default: 'redis',
    readers: ['api', 'worker', 'aggregator', 'stack'],
    doc: "Where a job's texts wait until it ends. redis: beside the job (one script reads a shard's texts as it starts). files: one file per job under <RERANK_DATA_DIR>/documents, read by position, for jobs whose texts would crowd Redis's memory (a 1,000,000-pair job); the API, workers and aggregator must then share that directory (one machine, or a shared volume).",
  }),
});

const stack = section({
  redisMaxmemory: envVar('RERANK_REDIS_MAXMEMORY', redisSize(), {
    default: '1gb',
    readers: ['stack'],
    doc: 'maxmemory of the redis-server that `npm start` starts when REDIS_URL is unset (Redis units: 512mb, 2gb; with noeviction). Other Redis deployments set their own.',
  }),
});

const client = section({
  url: envVar('RERANK_URL', url(['http', 'https'], 'the http(s) base URL of the rerank API, e.g. http://localhost:3000'), {
    default: 'http://localhost:3000',
    readers: ['cli'],
    doc: 'Base URL of the rerank API that `rerank jobs ...` talks to (--url overrides it).',
  }),
  apiKey: envVar('RERANK_API_KEY', text(), {
    unset: 'none: no key is sent (an open API)',
    readers: ['cli'],
    doc: "API key `rerank jobs ...` sends as Authorization: Bearer (one of the server's RERANK_API_KEYS).",
  }),
});

const harness = section({
  logs: envVar('RERANK_HARNESS_LOGS', flag(), {
    unset: 'off',
    readers: ['harness'],
    doc: 'Tests and bench: 1 echoes the output of the processes they start (libs/harness) to stderr.',
  }),
  python: envVar('RERANK_PYTHON', text(), {
    unset: '`python3`',
    readers: ['harness'],
    doc: 'scripts/setup-python.sh: the interpreter the reference environment is built from.',
  }),
  pythonVenv: envVar('RERANK_PYTHON_VENV', text(), {
    unset: '`.venv`',
    readers: ['harness'],
    doc: 'scripts/setup-python.sh and the reference suite: where the Python environment (FlagEmbedding, the export recipe) lives.',
  }),
  faultAfter: envVar('RERANK_TEST_FAULT_AFTER', text(), {
    unset: 'none',
    readers: ['api'],
    doc: "Test hook (test/jobs/creation-crash.spec.ts), honoured only with RERANK_TEST_HOOKS=1: the API kills itself (SIGKILL) right after this step of a job's creation: claim, documents, record, quota, queue, activate.",
  }),
  testHooks: envVar('RERANK_TEST_HOOKS', flag(), {
    unset: 'off',
    readers: ['api'],
    doc: 'Test hook switch: 1 lets RERANK_TEST_FAULT_AFTER act; never set it in production.',
  }),
  referenceDir: envVar('RERANK_REFERENCE_DIR', text(), {
    unset: '`.cache/reference`',
    readers: ['harness'],
    doc: "The reference suite: where the generated checkpoints, their exports and FlagEmbedding's expected scores are kept.",
  }),
});

/** The sections, in the order of the docs. */
export const SECTIONS = {
  redis,
  models,
  worker,
  api,
  limits,
  rateLimits,
  backpressure,
  shard,
  queue,
  jobs,
  events,
  webhook,
  observability,
  data,
  stack,
  client,
  harness,
};

/**
 * The one Redis URL of the process, from REDIS_URL or the list variables (at most one form set).
 * Messages name the variables themselves (they concern several).
 */
function redisUrlOf(r: { url?: string; clusterNodes?: string; sentinels?: string; sentinelName?: string }, ctx: z.RefinementCtx): string {
  const problem = (message: string) => ctx.addIssue({ code: 'custom', message, input: r });
  const set = [
    r.url !== undefined && 'REDIS_URL',
    r.clusterNodes !== undefined && 'REDIS_CLUSTER_NODES',
    r.sentinels !== undefined && 'REDIS_SENTINELS',
  ].filter(Boolean);
  if (set.length > 1) problem(`${set.join(' and ')} are both set: set one way to reach Redis`);
  if ((r.sentinels === undefined) !== (r.sentinelName === undefined))
    problem('REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both (or REDIS_URL=redis+sentinel://s1:p1,s2:p2/<name>)');
  let url = r.url ?? 'redis://127.0.0.1:6379';
  if (r.clusterNodes !== undefined) url = `redis+cluster://${r.clusterNodes}`;
  else if (r.sentinels !== undefined && r.sentinelName !== undefined)
    url = `redis+sentinel://${r.sentinels}/${encodeURIComponent(r.sentinelName)}`;
  try {
    parseRedisUrl(url);
  } catch (e) {
    problem((e as Error).message);
  }
  return url;
}
