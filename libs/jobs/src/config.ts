/**
 * Every environment variable of the service, declared once in `CONFIG_VARS` and read only through
 * it: `loadConfig()` builds the typed `RerankConfig` from the declarations, refuses a bad value
 * with a message naming the variable, and refuses a `RERANK_*` variable that nothing declares
 * (with the closest declared name). The configuration table of docs/deploy.md
 * (`npm run docs:config`) and the deploy checks (test/deploy) are derived from the same list.
 *
 * Entry format (one line per variable, in documentation order):
 *
 *   { name: 'RERANK_X', type: int(1, 100), default: '10', processes: ['api', 'worker'], description: '...' },
 *
 * - `type`: int(min, max?), fraction(), text({ minLength? }), url(schemes, expected), redisSize(),
 *   flag(), directory(), or custom(label, parser) for structured values (config-schema.ts);
 * - `default`: the default as a string, parsed by `type`; null when there is none, with `unset`
 *   saying in words what applies then (the docs' default column);
 * - `processes`: which of api, launcher, worker, aggregator, stack (`npm start`), cli, harness
 *   (tests and bench) read it. The launcher passes its environment on to its workers.
 *
 * Then read it in `loadConfig` as `v.RERANK_X` (typed: number here; `| undefined` without a default).
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { FAMILIES, type Family, parseDevice, deviceName } from '@rerank/engine';
import { type ConfigVar, type Env, custom, flag, fraction, int, type Parsed, readVars, redisSize, text, url } from './config-schema';
import { HostList } from './net/address-policy';
import { MIN_SECRET_KEY_CHARS } from './net/secret-box';
import { LOG_LEVELS, type LogLevel } from './logger';
import { parseRedisUrl } from './redis';
import { useClusterKeys } from './store/keys';

export interface ModelConfig {
  /** What clients send as `model`. */
  name: string;
  /** A model directory or a hub id. */
  path: string;
  family?: Family;
  /** Engine constructor options (camelCase, as `AutoReranker.fromFinetuned` takes them). */
  options?: Record<string, unknown>;
  /** A generated test model (set by the stack); workers also detect it from config.json. */
  generated?: boolean;
}

export interface ApiKey {
  label: string;
  key: string;
}

export interface Limits {
  maxBodyBytes: number;
  maxDocuments: number;
  maxDocumentChars: number;
  maxQueries: number;
  maxPairs: number;
  maxTopK: number;
  syncMaxDocuments: number;
  /** Deepest nesting of a job's `metadata` (default 32). */
  maxMetadataDepth?: number;
  /** Largest `metadata` as JSON, in bytes (default 16384). */
  maxMetadataBytes?: number;
}

export interface RerankConfig {
  redisUrl: string;
  /** False when REDIS_URL was not set (the stack then starts its own redis-server). */
  redisUrlFromEnv: boolean;
  port: number;
  /** Where the API listens (RERANK_HOST): loopback without API keys; undefined: every interface. */
  host: string | undefined;
  /** undefined: the app's default; 0: no health server. */
  healthPort: number | undefined;
  dataDir: string;
  /** RERANK_DOCUMENT_STORE: where a job's texts wait (Redis, or files under dataDir/documents). */
  documentStore: 'redis' | 'files';
  models: ModelConfig[];
  modelsFromEnv: boolean;
  cacheDir: string | undefined;
  /** Model downloads (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE / RERANK_OFFLINE), passed to the engine by workers. */
  hub: { endpoint: string | undefined; token: string | undefined; offline: boolean };
  devices: string[];
  /** RERANK_DEVICES with each device's own models (`cuda:0=a+b`); `models` undefined: workerModels. */
  deviceSlots: DeviceSlot[];
  threads: number;
  apiKeys: ApiKey[];
  /** RERANK_ADMIN_KEYS: keys of the queue dashboard (/admin/queues); none: no dashboard. */
  adminKeys: ApiKey[];
  /** RERANK_JOB_LIST_MAX: newest jobs per API key that GET /v1/jobs can list. */
  jobListMax: number;
  limits: Limits;
  syncTimeoutMs: number;
  resultTtlSeconds: number;
  shard: { maxPairs: number; maxChars: number; minShards: number };
  /** Shards one worker process scores at once. */
  workerConcurrency: number;
  /** Synchronous request parts one worker process scores at once (their own queue). */
  workerSyncConcurrency: number;
  /** RERANK_WORKER_TENANT_SLOTS: as many more shard slots, for tenants holding fewer shards than that on the worker. */
  workerTenantSlots: boolean;
  /** RERANK_WORKER_MODELS: the models a worker loads and serves (names of `models`); all of them when unset. */
  workerModels: string[];
  /** RERANK_REFUSE_UNSERVED: requests refused (503) for a model without a live worker. */
  refuseUnserved: 'sync' | 'all' | 'none';
  webhook: { attempts: number; backoffMs: number; timeoutMs: number; inlineMax: number };
  queue: { lockDurationMs: number; stalledIntervalMs: number; maxStalledCount: number; shardAttempts: number };
  /** How long the API waits for in-flight requests on SIGTERM. */
  drainTimeoutMs: number;
  /** Retry time of Redis infrastructure errors in workers and the aggregator (RERANK_INFRA_RETRY_MS). */
  infraRetryMs: number;
  /** Request-path Redis command timeout of the API. */
  redisCommandTimeoutMs: number;
  /** When the API refuses new work with 503 overloaded (0 pairs: no pairs check). */
  backpressure: { maxQueuedPairs: number; redisMemoryCeiling: number };
  /** maxmemory of the stack's own redis-server. */
  redisMaxmemory: string;
  security: SecurityConfig;
}

/** Guards of the service (docs/security.md). */
export interface SecurityConfig {
  /** Internal hosts/CIDRs webhooks may reach (RERANK_WEBHOOK_ALLOWED_HOSTS); empty: public addresses only. */
  webhookAllowedHosts: HostList;
  /** Whose X-Forwarded-* headers count: nobody (null), any peer ('all'), or peers in these CIDRs. */
  trustProxy: HostList | 'all' | null;
  /** Key of webhook secrets at rest (RERANK_SECRET_KEY); unset: stored in plain text. */
  secretKey: string | undefined;
  /** Per API key, shared by all API replicas through Redis; 0 turns a limit off. */
  rateLimits: { requestsPerMinute: number; pairsPerMinute: number; activeJobs: number };
}

/** All variables, in documentation order (entry format: top of this file). */
function parseLogLevelVar(raw: string, name: string): Parsed<LogLevel> {
  const level = raw.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return { value: level as LogLevel, problems: [] };
  return { problems: [`${name}: "${raw}" is not a log level; use one of ${LOG_LEVELS.join(', ')}`] };
}

export const CONFIG_VARS = [
  {
    name: 'REDIS_URL',
    type: redisUrlType(),
    default: null,
    unset: '`redis://127.0.0.1:6379`; `npm start` runs its own',
    processes: ['api', 'worker', 'aggregator', 'stack'],
    description:
      'Redis connection URL (redis://[user:pass@]host:port[/db], rediss:// for TLS; redis+cluster://[user:pass@]h1:p1,h2:p2 for a Redis Cluster, redis+sentinel://[user:pass@]s1:p1,s2:p2/<master name>[/db] for Sentinel; docs/deploy.md). Apps connect to redis://127.0.0.1:6379 when unset; `npm start` starts its own redis-server instead.',
  },
  { name: 'PORT', type: int(0, 65535), default: '3000', processes: ['api', 'stack'], description: 'HTTP port of the API.' },
  {
    name: 'RERANK_HOST',
    type: text({ hint: 'an address to listen on: 0.0.0.0, ::, 127.0.0.1, or a hostname' }),
    default: null,
    unset: '`127.0.0.1` without RERANK_API_KEYS, every interface with them',
    processes: ['api', 'stack'],
    description:
      "Address the API listens on (the API's and `npm start`'s `--host` too). Unset: 127.0.0.1 (this machine only) while RERANK_API_KEYS is unset, since the API is then open to whoever reaches it; every interface once keys are set. The images and manifests set 0.0.0.0.",
  },
  {
    name: 'HEALTH_PORT',
    type: int(0, 65535),
    default: null,
    unset: '8081 launcher, 8082 aggregator',
    processes: ['launcher', 'aggregator', 'stack'],
    description:
      'Port of the /health/live and /health/ready endpoints of the worker launcher and the aggregator (default 8081 for the launcher, 8082 for the aggregator; 0 turns the health server off).',
  },
  {
    name: 'RERANK_DATA_DIR',
    type: directory(),
    default: './data',
    processes: ['api', 'worker', 'aggregator', 'stack'],
    description:
      'Where `npm start` keeps redis persistence (<dir>/redis) and the generated test model (<dir>/models), and, with RERANK_DOCUMENT_STORE=files, where every process keeps job texts (<dir>/documents).',
  },
  {
    name: 'RERANK_DOCUMENT_STORE',
    type: custom('redis or files', parseDocumentStoreVar),
    default: 'redis',
    processes: ['api', 'worker', 'aggregator', 'stack'],
    description:
      "Where a job's texts wait until it ends. redis: beside the job (one script reads a shard's texts as it starts). files: one file per job under <RERANK_DATA_DIR>/documents, read by position, for jobs whose texts would crowd Redis's memory (a 1,000,000-pair job); the API, workers and aggregator must then share that directory (one machine, or a shared volume).",
  },
  {
    name: 'RERANK_MODELS',
    type: custom('models: name=path,... or JSON', parseModelsVar),
    default: null,
    unset: '(required; `npm start`: a generated test model)',
    processes: ['api', 'worker', 'stack'],
    description:
      'Models to serve: a JSON array [{"name","path","family"?,"options"?}] or the shorthand name=path,name2=path2 (path: model directory or hub id). Unset: `npm start` generates and serves a tiny test model; the other apps refuse to start.',
  },
  {
    name: 'RERANK_CACHE_DIR',
    type: text(),
    default: null,
    unset: '`~/.cache/rerank`; `/models` in the images',
    processes: ['worker', 'cli'],
    description:
      'Engine model cache (hub downloads, names looked up by the engine): the models volume in the images; default ~/.cache/rerank.',
  },
  {
    name: 'HF_ENDPOINT',
    type: url(['http', 'https'], 'the http(s) URL of a Hugging Face-compatible hub, e.g. https://huggingface.co'),
    default: null,
    unset: '`https://huggingface.co`',
    processes: ['worker', 'cli'],
    description: 'Hugging Face-compatible hub that model ids are downloaded from (a mirror); leave it unset rather than empty.',
  },
  {
    name: 'HF_TOKEN',
    type: text(),
    default: null,
    unset: 'none',
    processes: ['worker', 'cli'],
    description: 'Token for private or gated hub repositories.',
  },
  {
    name: 'HF_HUB_OFFLINE',
    type: flag(),
    default: null,
    unset: 'off',
    processes: ['worker', 'cli'],
    description: '1: never download a model; use what is in RERANK_CACHE_DIR.',
  },
  {
    name: 'RERANK_OFFLINE',
    type: flag(),
    default: null,
    unset: 'off',
    processes: ['worker', 'cli'],
    description: '1: never download a model (the same as HF_HUB_OFFLINE).',
  },
  {
    name: 'RERANK_DEVICES',
    type: custom('devices: cpu, cuda:N, ... (each optionally =model+model)', parseDevicesVar),
    default: 'cpu',
    processes: ['launcher', 'worker', 'stack'],
    description:
      'Devices of the worker launcher, one worker process each: cpu, cuda:0, cuda:1, ... comma separated (cpu may repeat); the GPU image sets cuda:0. Model placement per device: cuda:0=llm,cuda:1=minilm+bge (names of RERANK_MODELS joined by +); a device without = serves RERANK_WORKER_MODELS.',
  },
  {
    name: 'RERANK_THREADS',
    type: int(1, 1024),
    default: null,
    unset: 'CPU cores',
    processes: ['launcher', 'worker'],
    description:
      "CPU threads for scoring (default: the number of CPU cores). The launcher splits them across its CPU workers; a worker uses them as the runtime intra-op threads (GPU workers at most 2). In a container set it to its CPU limit: Node sees the host's cores.",
  },
  {
    name: 'RERANK_API_KEYS',
    type: custom('keys: label:key,...', parseApiKeysVar),
    default: null,
    unset: 'none (API open, with a warning)',
    processes: ['api'],
    description:
      'API keys, comma separated, each optionally as label:key; keys of 8+ characters without spaces. A job is visible only to its key. Unset: the API runs open (a warning is logged).',
  },
  {
    name: 'RERANK_MAX_BODY_BYTES',
    type: int(1024),
    default: '33554432',
    processes: ['api'],
    description: 'Largest request body in bytes (413 beyond).',
  },
  {
    name: 'RERANK_MAX_DOCUMENTS',
    type: int(1),
    default: '100000',
    processes: ['api'],
    description: 'Most documents in one request (all queries together).',
  },
  {
    name: 'RERANK_MAX_DOCUMENT_CHARS',
    type: int(1),
    default: '20000',
    processes: ['api'],
    description: 'Most characters in one document or query.',
  },
  { name: 'RERANK_MAX_QUERIES', type: int(1), default: '100', processes: ['api'], description: 'Most queries in one job.' },
  {
    name: 'RERANK_MAX_PAIRS',
    type: int(1),
    default: '1000000',
    processes: ['api'],
    description: 'Most (query, document) pairs in one job.',
  },
  { name: 'RERANK_MAX_TOP_K', type: int(1), default: '1000', processes: ['api'], description: 'Largest top_k / top_n accepted.' },
  {
    name: 'RERANK_SYNC_MAX_DOCUMENTS',
    type: int(1),
    default: '10000',
    processes: ['api'],
    description:
      'Most documents of a synchronous /v1/rerank or /v2/rerank request (cut into shard-sized parts that workers share); larger ones get 413 pointing to /v1/jobs.',
  },
  {
    name: 'RERANK_SYNC_TIMEOUT_MS',
    type: int(100),
    default: '30000',
    processes: ['api'],
    description: 'How long a synchronous request waits for a worker before 504.',
  },
  {
    name: 'RERANK_RESULT_TTL_SECONDS',
    type: int(1),
    default: '86400',
    processes: ['api', 'aggregator'],
    description: 'How long a finished job, its results and its idempotency key stay in Redis.',
  },
  {
    name: 'RERANK_SHARD_MAX_PAIRS',
    type: int(1),
    default: '1000',
    processes: ['api'],
    description: 'Most pairs in one shard (the unit of work a worker takes).',
  },
  {
    name: 'RERANK_SHARD_MIN_COUNT',
    type: int(1, 10000),
    default: '16',
    processes: ['api'],
    description:
      'A job is cut into at least this many shards of similar cost when its pairs allow (down to 32 pairs per shard), so several workers share even a small job evenly.',
  },
  {
    name: 'RERANK_WORKER_CONCURRENCY',
    type: int(1, 64),
    default: '2',
    processes: ['worker'],
    description:
      "Shards one worker scores at once. Two keep its device busy while the other shard's texts are read from and its scores written to Redis, and tokenized; the engine interleaves their batches.",
  },
  {
    name: 'RERANK_WORKER_TENANT_SLOTS',
    type: flag(),
    default: '1',
    processes: ['worker'],
    description:
      "1: while its RERANK_WORKER_CONCURRENCY shard slots are busy, a worker takes up to as many more shards, each only when the next one waiting belongs to a tenant (API key) holding fewer than RERANK_WORKER_CONCURRENCY shards on it; so another tenant's job starts within a moment instead of after the shards in flight, and the engine shares the device between the tenants. 0: only the fixed slots.",
  },
  {
    name: 'RERANK_SHARD_MAX_CHARS',
    type: int(1),
    default: '1000000',
    processes: ['api'],
    description: 'Most characters (query + document, summed over pairs) in one shard.',
  },
  {
    name: 'RERANK_WEBHOOK_ATTEMPTS',
    type: int(1, 100),
    default: '8',
    processes: ['api', 'aggregator'],
    description: 'Delivery attempts of a webhook before its failure is recorded on the job.',
  },
  {
    name: 'RERANK_WEBHOOK_BACKOFF_MS',
    type: int(1),
    default: '2000',
    processes: ['api', 'aggregator'],
    description: 'First retry delay of a webhook; doubles with each attempt (exponential backoff).',
  },
  {
    name: 'RERANK_WEBHOOK_TIMEOUT_MS',
    type: int(100),
    default: '10000',
    processes: ['aggregator'],
    description: 'Timeout of one webhook POST.',
  },
  {
    name: 'RERANK_WEBHOOK_INLINE_MAX',
    type: int(0),
    default: '100',
    processes: ['aggregator'],
    description:
      'Webhooks carry the results inline when the job has at most this many top-k entries (all queries together); otherwise only the link.',
  },
  {
    name: 'RERANK_LOCK_DURATION_MS',
    type: int(1000),
    default: '10000',
    processes: ['worker', 'aggregator'],
    description:
      "BullMQ lock of a shard being scored, renewed by its worker every half of it; a worker that dies loses its shard to another within this plus RERANK_STALLED_INTERVAL_MS (about 12 s with the defaults). Keep it above twice the longest pause of a worker's event loop.",
  },
  {
    name: 'RERANK_STALLED_INTERVAL_MS',
    type: int(500),
    default: '2000',
    processes: ['worker', 'aggregator'],
    description:
      'How often workers (and the aggregator, for its queues) look for stalled shards of dead processes and queue them again; one cheap Redis script per interval across all workers.',
  },
  {
    name: 'RERANK_MAX_STALLED_COUNT',
    type: int(1, 1000),
    default: '5',
    processes: ['worker', 'aggregator'],
    description: 'How many times a shard may stall (its worker killed) before it fails.',
  },
  {
    name: 'RERANK_SHARD_ATTEMPTS',
    type: int(1, 100),
    default: '3',
    processes: ['api', 'aggregator'],
    description: 'Attempts of a shard that throws (engine errors) before it fails the job.',
  },
  {
    name: 'RERANK_WEBHOOK_ALLOWED_HOSTS',
    type: custom('hostnames and CIDRs', parseHostListVar),
    default: null,
    unset: 'none: public addresses only',
    processes: ['api', 'aggregator'],
    description:
      'Internal webhook receivers allowed despite the SSRF guard: hostnames and CIDRs, comma separated (e.g. 10.0.0.0/8,hooks.internal). Unset: webhook URLs whose host is or resolves to a loopback, private, link-local, CGNAT, multicast or unspecified address are refused. Set it on the API and the aggregator alike.',
  },
  {
    name: 'RERANK_TRUST_PROXY',
    type: custom('true, or addresses/CIDRs', parseTrustProxyVar),
    default: null,
    unset: 'none: X-Forwarded-* ignored',
    processes: ['api'],
    description:
      "Whose X-Forwarded-Proto/Host the API believes when building job links: true (any peer: only behind a proxy that overwrites them) or the proxies' addresses/CIDRs, comma separated. Unset: X-Forwarded-* is ignored.",
  },
  {
    name: 'RERANK_SECRET_KEY',
    type: text({ minLength: MIN_SECRET_KEY_CHARS, hint: 'generate one with `openssl rand -base64 32`' }),
    default: null,
    unset: 'none: plain text, a warning at start',
    processes: ['api', 'aggregator'],
    description:
      'Encrypts webhook secrets at rest in Redis (AES-256-GCM; at least 32 characters, e.g. `openssl rand -base64 32`). Set the same value on the API and the aggregator. Unset: secrets are stored in plain text (a warning is logged).',
  },
  {
    name: 'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE',
    type: int(0),
    default: '3000',
    processes: ['api'],
    description:
      'Requests per minute per API key (open API: all clients together) on /v1/rerank, /v2/rerank, /v1/jobs and /v1/models, shared by all API replicas; 429 with Retry-After beyond. 0: no limit.',
  },
  {
    name: 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE',
    type: int(0),
    default: '5000000',
    processes: ['api'],
    description:
      '(query, document) pairs per minute per API key, synchronous requests and jobs together; 429 with Retry-After beyond. 0: no limit.',
  },
  {
    name: 'RERANK_RATE_LIMIT_ACTIVE_JOBS',
    type: int(0),
    default: '200',
    processes: ['api'],
    description: 'Jobs per API key queued or running at once; 429 beyond until one ends. 0: no limit.',
  },
  {
    name: 'RERANK_MAX_METADATA_DEPTH',
    type: int(1, 1000),
    default: '32',
    processes: ['api'],
    description: "Deepest nesting of a job's `metadata` (objects and lists inside it); deeper is a 400.",
  },
  {
    name: 'RERANK_MAX_METADATA_BYTES',
    type: int(2),
    default: '16384',
    processes: ['api'],
    description: 'Largest `metadata` of a job, in bytes as JSON; larger is a 400.',
  },
  {
    name: 'RERANK_JOB_LIST_MAX',
    type: int(1, 1000000),
    default: '10000',
    processes: ['api'],
    description:
      'GET /v1/jobs: the newest jobs per API key kept in its listing index (older ones drop out of the listing but stay readable by id until they expire).',
  },
  {
    name: 'RERANK_ADMIN_KEYS',
    type: custom('keys: label:key,...', parseAdminKeysVar),
    default: null,
    unset: 'none: no queue dashboard',
    processes: ['api'],
    description:
      'Admin keys, comma separated, each optionally as label:key (8+ characters, none of RERANK_API_KEYS): the queue dashboard at /admin/queues (Bull Board, read-only) answers only to them (Authorization: Bearer <key>, or Basic with the key as password in a browser). Unset: the dashboard is not served.',
  },
  {
    name: 'RERANK_INFRA_RETRY_MS',
    type: int(0),
    default: '300000',
    processes: ['worker', 'aggregator'],
    description:
      'How long workers and the aggregator keep retrying a Redis write or read that fails for infrastructure reasons (connection lost, OOM under maxmemory, READONLY during a failover, timeouts), with backoff, before the shard or job fails with the reason. These retries do not use RERANK_SHARD_ATTEMPTS.',
  },
  {
    name: 'RERANK_REDIS_COMMAND_TIMEOUT_MS',
    type: int(100),
    default: '5000',
    processes: ['api'],
    description:
      'The API fails a Redis command after this long (503) instead of waiting for Redis; while Redis is disconnected it answers 503 at once.',
  },
  {
    name: 'RERANK_MAX_QUEUED_PAIRS',
    type: int(0),
    default: '20000000',
    processes: ['api'],
    description:
      'Backpressure: the API answers 503 (code overloaded, Retry-After) to a new job or synchronous request while the pairs of unfinished jobs plus its own would pass this; 0 turns the check off. At least RERANK_MAX_PAIRS.',
  },
  {
    name: 'RERANK_REDIS_MEMORY_CEILING',
    type: fraction(),
    default: '0.9',
    processes: ['api'],
    description:
      'Backpressure: the API answers 503 (code overloaded, Retry-After) to a new job or synchronous request while Redis used_memory is above this fraction of its maxmemory (0 < x <= 1; INFO memory, read at most once a second). No check when Redis has no maxmemory.',
  },
  {
    name: 'RERANK_REDIS_MAXMEMORY',
    type: redisSize(),
    default: '1gb',
    processes: ['stack'],
    description:
      'maxmemory of the redis-server that `npm start` starts when REDIS_URL is unset (Redis units: 512mb, 2gb; with noeviction). Other Redis deployments set their own.',
  },
  {
    name: 'RERANK_DRAIN_TIMEOUT_MS',
    type: int(0),
    default: '25000',
    processes: ['api'],
    description:
      "On SIGTERM the API stops accepting connections and waits this long for in-flight requests (synchronous reranks included) before it answers what is left with 503 and exits; keep it below the orchestrator's grace period.",
  },
  // Client side: read by `rerank jobs ...` (apps/cli), not by the service.
  {
    name: 'RERANK_URL',
    type: url(['http', 'https'], 'the http(s) base URL of the rerank API, e.g. http://localhost:3000'),
    default: 'http://localhost:3000',
    processes: ['cli'],
    description: 'Base URL of the rerank API that `rerank jobs ...` talks to (--url overrides it).',
  },
  {
    name: 'RERANK_API_KEY',
    type: text(),
    default: null,
    unset: 'none: no key is sent (an open API)',
    processes: ['cli'],
    description: "API key `rerank jobs ...` sends as Authorization: Bearer (one of the server's RERANK_API_KEYS).",
  },
  {
    name: 'RERANK_PYTHON',
    type: text(),
    default: null,
    unset: '`python3`',
    processes: ['harness'],
    description: 'scripts/setup-python.sh: the interpreter the reference environment is built from.',
  },
  {
    name: 'RERANK_PYTHON_VENV',
    type: text(),
    default: null,
    unset: '`.venv`',
    processes: ['harness'],
    description: 'scripts/setup-python.sh and the reference suite: where the Python environment (FlagEmbedding, the export recipe) lives.',
  },
  {
    name: 'RERANK_REFERENCE_DIR',
    type: text(),
    default: null,
    unset: '`.cache/reference`',
    processes: ['harness'],
    description: "The reference suite: where the generated checkpoints, their exports and FlagEmbedding's expected scores are kept.",
  },
  {
    name: 'RERANK_HARNESS_LOGS',
    type: flag(),
    default: null,
    unset: 'off',
    processes: ['harness'],
    description: 'Tests and bench: 1 echoes the output of the processes they start (libs/harness) to stderr.',
  },
  {
    name: 'LOG_LEVEL',
    type: custom('log level: fatal, error, warn, info, debug, trace or silent', parseLogLevelVar),
    default: 'info',
    processes: ['api', 'launcher', 'worker', 'aggregator', 'stack'],
    description:
      'Least severe log lines written: fatal, error, warn, info (default), debug, trace or silent. Lines are JSON (one object per line) unless stdout is a terminal, where they are colored text.',
  },
  // Mixed load (issue 13): synchronous requests in a queue of their own, so shards never hold every slot.
  {
    name: 'RERANK_WORKER_SYNC_CONCURRENCY',
    type: int(1, 64),
    default: '4',
    processes: ['worker'],
    description:
      "Synchronous request parts one worker scores at once, besides its RERANK_WORKER_CONCURRENCY shards: they come from their own queue, so a request never waits for a shard to end, and their batches go to the device ahead of the shards' batches.",
  },
  // Redis beyond one node (docs/deploy.md): the same as a redis+cluster:// or redis+sentinel:// REDIS_URL, for deployments that set lists.
  {
    name: 'REDIS_CLUSTER_NODES',
    type: text({ hint: 'host:port,host:port' }),
    default: null,
    unset: 'not a cluster',
    processes: ['api', 'worker', 'aggregator'],
    description:
      'Redis Cluster nodes, comma-separated host:port (any reachable masters; the rest are discovered). Same as REDIS_URL=redis+cluster://h1:p1,h2:p2; set one of the two.',
  },
  {
    name: 'REDIS_SENTINELS',
    type: text({ hint: 'host:port,host:port' }),
    default: null,
    unset: 'no Sentinel',
    processes: ['api', 'worker', 'aggregator'],
    description:
      'Redis Sentinels, comma-separated host:port; with REDIS_SENTINEL_NAME. Same as REDIS_URL=redis+sentinel://s1:p1,s2:p2/<name>; set one of the two.',
  },
  {
    name: 'REDIS_SENTINEL_NAME',
    type: text(),
    default: null,
    unset: 'no Sentinel',
    processes: ['api', 'worker', 'aggregator'],
    description: 'The master name the Sentinels monitor (sentinel monitor <name> ...); with REDIS_SENTINELS.',
  },
  // Model placement (issue 10 item 8).
  {
    name: 'RERANK_WORKER_MODELS',
    type: custom('model names, comma separated', parseWorkerModelsVar),
    default: null,
    unset: 'every model of RERANK_MODELS',
    processes: ['launcher', 'worker'],
    description:
      "Model placement: the names (of RERANK_MODELS) this launcher's workers load and serve, comma separated; each model has its own queues, so a worker takes only its models' shards. Unset: every configured model. The API answers 503 (unavailable, Retry-After) for a model no live worker serves.",
  },
  {
    name: 'RERANK_REFUSE_UNSERVED',
    type: custom('sync, all or none', parseRefuseUnservedVar),
    default: 'all',
    processes: ['api'],
    description:
      'Model placement: which requests for a model that no live worker serves (heartbeats) get 503 unavailable with Retry-After and nothing stored. all: synchronous requests and jobs; sync: synchronous requests only, jobs are queued until a worker comes (scale from zero: a queued job is what wakes the autoscaler); none: everything is queued. With sync or none the API is ready while Redis answers; with all, while some model has a live worker.',
  },
] as const satisfies readonly ConfigVar[];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Each declaration by name, for code outside `loadConfig` that reads one variable: `readVar(CONFIG_VAR.RERANK_X, env)`. */
export const CONFIG_VAR = Object.fromEntries(CONFIG_VARS.map((v) => [v.name, v])) as {
  [V in (typeof CONFIG_VARS)[number] as V['name']]: V;
};

/** A path, resolved against the working directory. */
function directory() {
  return custom<string>('directory', (raw) => ({ value: resolve(raw), problems: [] }));
}

function parseModelsVar(raw: string): Parsed<ModelConfig[]> {
  const { models, problems } = parseModels(raw);
  return { value: models, problems };
}

function parseApiKeysVar(raw: string): Parsed<ApiKey[]> {
  const { keys, problems } = parseApiKeys(raw);
  return { value: keys, problems };
}

function parseAdminKeysVar(raw: string): Parsed<ApiKey[]> {
  const { keys, problems } = parseApiKeys(raw);
  return { value: keys, problems: problems.map((p) => p.replace('RERANK_API_KEYS', 'RERANK_ADMIN_KEYS')) };
}

function parseDevicesVar(raw: string, name: string): Parsed<DeviceSlot[]> {
  const { slots, problems } = parseDevices(raw, name);
  return { value: slots, problems };
}

function parseHostListVar(raw: string, name: string): Parsed<HostList> {
  const { list, problems } = HostList.parse(raw, name);
  return { value: list, problems };
}

/** `true` (any peer), `false`, or the proxies' addresses/CIDRs. */
function parseTrustProxyVar(raw: string, name: string): Parsed<HostList | 'all' | null> {
  if (/^(true|1|all|\*)$/i.test(raw)) return { value: 'all', problems: [] };
  if (/^(false|0|none)$/i.test(raw)) return { value: null, problems: [] };
  const { list, problems } = HostList.parse(raw, name);
  return { value: list, problems: problems.map((p) => `${p} (or true to trust any peer)`) };
}

/** The shorthand `name=path,name2=path2` or a JSON array of model entries. */
export function parseModels(text: string): { models: ModelConfig[]; problems: string[] } {
  const problems: string[] = [];
  const models: ModelConfig[] = [];
  const s = text.trim();
  if (s.startsWith('[') || s.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch (e) {
      return {
        models,
        problems: [`RERANK_MODELS: not valid JSON (${(e as Error).message}); use [{"name":"...","path":"..."}] or name=path,name2=path2`],
      };
    }
    if (!Array.isArray(parsed))
      return { models, problems: ['RERANK_MODELS: the JSON form must be an array of {"name","path","family"?,"options"?}'] };
    parsed.forEach((entry, i) => {
      const where = `RERANK_MODELS[${i}]`;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        problems.push(`${where}: expected an object {"name","path","family"?,"options"?}`);
        return;
      }
      const e = entry as Record<string, unknown>;
      for (const key of Object.keys(e)) {
        if (!['name', 'path', 'family', 'options', 'generated'].includes(key))
          problems.push(`${where}: unknown key "${key}" (known: name, path, family, options, generated)`);
      }
      if (typeof e.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(e.name)) {
        problems.push(`${where}.name: expected a name of letters, digits and . _ - : / (at most 128), got ${JSON.stringify(e.name)}`);
        return;
      }
      if (typeof e.path !== 'string' || e.path.trim() === '') {
        problems.push(`${where}.path: expected a model directory or hub id, got ${JSON.stringify(e.path)}`);
        return;
      }
      let family: Family | undefined;
      if (e.family !== undefined) {
        if (typeof e.family !== 'string' || !(FAMILIES as readonly string[]).includes(e.family)) {
          problems.push(`${where}.family: expected one of ${FAMILIES.join(', ')}, got ${JSON.stringify(e.family)}`);
        } else family = e.family as Family;
      }
      if (e.options !== undefined && (e.options === null || typeof e.options !== 'object' || Array.isArray(e.options))) {
        problems.push(`${where}.options: expected an object of engine options (camelCase, e.g. {"maxLength":512})`);
      }
      if (e.generated !== undefined && typeof e.generated !== 'boolean') problems.push(`${where}.generated: expected true or false`);
      models.push({
        name: e.name,
        path: e.path,
        ...(family ? { family } : {}),
        ...(e.options ? { options: e.options as Record<string, unknown> } : {}),
        ...(e.generated ? { generated: true } : {}),
      });
    });
  } else {
    for (const part of s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const eq = part.indexOf('=');
      const name = eq > 0 ? part.slice(0, eq).trim() : '';
      const path = eq > 0 ? part.slice(eq + 1).trim() : '';
      if (!name || !path) {
        problems.push(`RERANK_MODELS: "${part}" is not name=path; use name=path,name2=path2 or the JSON form`);
        continue;
      }
      models.push({ name, path });
    }
  }
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name)) problems.push(`RERANK_MODELS: model name "${m.name}" is listed twice`);
    seen.add(m.name);
  }
  if (models.length === 0 && problems.length === 0) problems.push('RERANK_MODELS: lists no model');
  return { models, problems };
}

/** `key` or `label:key`, comma separated. */
export function parseApiKeys(text: string): { keys: ApiKey[]; problems: string[] } {
  const problems: string[] = [];
  const keys: ApiKey[] = [];
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  parts.forEach((part, i) => {
    const colon = part.indexOf(':');
    const label = colon > 0 ? part.slice(0, colon).trim() : `key${i + 1}`;
    const key = colon > 0 ? part.slice(colon + 1).trim() : part;
    if (key.length < 8 || /\s/.test(key))
      problems.push(`RERANK_API_KEYS: the key labelled "${label}" must be at least 8 characters without spaces`);
    else if (keys.some((k) => k.key === key)) problems.push(`RERANK_API_KEYS: the key labelled "${label}" is listed twice`);
    else keys.push({ label, key });
  });
  return { keys, problems };
}

/** RERANK_WORKER_MODELS: model names, comma separated (checked against RERANK_MODELS in loadConfig). */
export function parseWorkerModelsVar(raw: string, name: string): Parsed<string[]> {
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0)
    return { problems: [`${name}: lists no model; name models of RERANK_MODELS, comma separated, or leave it unset for all`] };
  return { value: names, problems: [] };
}

function parseDocumentStoreVar(raw: string, name: string): Parsed<'redis' | 'files'> {
  const v = raw.toLowerCase();
  if (v === 'redis' || v === 'files') return { value: v, problems: [] };
  return { problems: [`${name}: expected redis or files, got "${raw}"`] };
}

function parseRefuseUnservedVar(raw: string, name: string): Parsed<'sync' | 'all' | 'none'> {
  const v = raw.toLowerCase();
  if (v === 'sync' || v === 'all' || v === 'none') return { value: v, problems: [] };
  return { problems: [`${name}: expected sync, all or none, got "${raw}"`] };
}

/** One worker process of a launcher: its device and, when the device entry names them (`cuda:0=a+b`), its models. */
export interface DeviceSlot {
  device: string;
  /** Models of this device only; undefined: RERANK_WORKER_MODELS (default every configured model). */
  models?: string[];
}

/**
 * RERANK_DEVICES / the launcher's --devices: `cpu,cuda:0,...`, each entry optionally placing models on
 * its device, `cuda:0=llm,cuda:1=minilm+bge` (model names joined by +). `devices` are the device
 * names alone; `slots` keep the model lists (checked against RERANK_MODELS by checkSlotModels).
 */
export function parseDevices(text: string, name = 'RERANK_DEVICES'): { devices: string[]; slots: DeviceSlot[]; problems: string[] } {
  const slots: DeviceSlot[] = [];
  const problems: string[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const device = (eq >= 0 ? part.slice(0, eq) : part).trim();
    let slot: DeviceSlot;
    try {
      slot = { device: deviceName(parseDevice(device)) };
    } catch {
      problems.push(
        `${name}: unknown device "${device}"; use cpu, cuda:0, cuda:1, ... comma separated (a device may name its models: cuda:0=a+b)`,
      );
      continue;
    }
    if (eq >= 0) {
      const models = [
        ...new Set(
          part
            .slice(eq + 1)
            .split('+')
            .map((m) => m.trim())
            .filter(Boolean),
        ),
      ];
      if (models.length === 0) {
        problems.push(
          `${name}: "${part}" names no model after "="; write ${device}=model or ${device}=model1+model2, or just ${device} for RERANK_WORKER_MODELS`,
        );
        continue;
      }
      slot.models = models;
    }
    slots.push(slot);
  }
  if (slots.length === 0 && problems.length === 0) problems.push(`${name}: lists no device; use cpu or cuda:0,cuda:1,...`);
  return { devices: slots.map((s) => s.device), slots, problems };
}

/** Model names of device entries (`cuda:0=a+b`) that RERANK_MODELS does not configure: one problem each, naming the configured ones. */
export function checkSlotModels(slots: readonly DeviceSlot[], models: readonly ModelConfig[], name = 'RERANK_DEVICES'): string[] {
  const names = models.map((m) => m.name);
  const problems: string[] = [];
  for (const slot of slots)
    for (const m of slot.models ?? [])
      if (!names.includes(m))
        problems.push(`${name}: ${slot.device} names model "${m}", which is not a model of RERANK_MODELS (${names.join(', ')})`);
  return problems;
}

export interface LoadOptions {
  /** Refuse to start without RERANK_MODELS (workers, API, aggregator); the stack generates one instead. */
  requireModels?: boolean;
}

/**
 * For a process's entry point: the configuration, or the problems logged and exit code 2
 * (a configuration error is the operator's to fix, not a crash).
 */
export function loadConfigOrExit(log: { error(message: string): void }, options: LoadOptions = {}, env: Env = process.env): RerankConfig {
  try {
    return loadConfig(env, options);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    log.error(e.message);
    process.exit(2);
  }
}

/** Reads and checks every variable; throws ConfigError listing all problems. */
export function loadConfig(env: Env = process.env, options: LoadOptions = {}): RerankConfig {
  const { values: v, problems } = readVars(CONFIG_VARS, env);
  if (v.RERANK_MODELS === undefined && options.requireModels) {
    problems.push(
      'RERANK_MODELS: not set; list the models to serve, e.g. RERANK_MODELS=bge=BAAI/bge-reranker-base (or run `npm start`, which serves a generated test model)',
    );
  }
  const config: RerankConfig = {
    redisUrl: redisUrlOf(v.REDIS_URL, v.REDIS_CLUSTER_NODES, v.REDIS_SENTINELS, v.REDIS_SENTINEL_NAME, problems),
    redisUrlFromEnv: v.REDIS_URL !== undefined || v.REDIS_CLUSTER_NODES !== undefined || v.REDIS_SENTINELS !== undefined,
    port: v.PORT,
    host: v.RERANK_HOST ?? (v.RERANK_API_KEYS?.length ? undefined : '127.0.0.1'),
    healthPort: v.HEALTH_PORT,
    dataDir: v.RERANK_DATA_DIR,
    documentStore: v.RERANK_DOCUMENT_STORE,
    models: v.RERANK_MODELS ?? [],
    modelsFromEnv: v.RERANK_MODELS !== undefined,
    cacheDir: v.RERANK_CACHE_DIR,
    hub: { endpoint: v.HF_ENDPOINT, token: v.HF_TOKEN, offline: v.HF_HUB_OFFLINE === true || v.RERANK_OFFLINE === true },
    devices: v.RERANK_DEVICES.map((d) => d.device),
    deviceSlots: v.RERANK_DEVICES,
    threads: v.RERANK_THREADS ?? availableParallelism(),
    apiKeys: v.RERANK_API_KEYS ?? [],
    adminKeys: v.RERANK_ADMIN_KEYS ?? [],
    jobListMax: v.RERANK_JOB_LIST_MAX,
    limits: {
      maxBodyBytes: v.RERANK_MAX_BODY_BYTES,
      maxDocuments: v.RERANK_MAX_DOCUMENTS,
      maxDocumentChars: v.RERANK_MAX_DOCUMENT_CHARS,
      maxQueries: v.RERANK_MAX_QUERIES,
      maxPairs: v.RERANK_MAX_PAIRS,
      maxTopK: v.RERANK_MAX_TOP_K,
      syncMaxDocuments: v.RERANK_SYNC_MAX_DOCUMENTS,
      maxMetadataDepth: v.RERANK_MAX_METADATA_DEPTH,
      maxMetadataBytes: v.RERANK_MAX_METADATA_BYTES,
    },
    syncTimeoutMs: v.RERANK_SYNC_TIMEOUT_MS,
    resultTtlSeconds: v.RERANK_RESULT_TTL_SECONDS,
    shard: { maxPairs: v.RERANK_SHARD_MAX_PAIRS, maxChars: v.RERANK_SHARD_MAX_CHARS, minShards: v.RERANK_SHARD_MIN_COUNT },
    workerConcurrency: v.RERANK_WORKER_CONCURRENCY,
    workerSyncConcurrency: v.RERANK_WORKER_SYNC_CONCURRENCY,
    workerTenantSlots: v.RERANK_WORKER_TENANT_SLOTS,
    workerModels: v.RERANK_WORKER_MODELS ?? (v.RERANK_MODELS ?? []).map((m) => m.name),
    refuseUnserved: v.RERANK_REFUSE_UNSERVED,
    webhook: {
      attempts: v.RERANK_WEBHOOK_ATTEMPTS,
      backoffMs: v.RERANK_WEBHOOK_BACKOFF_MS,
      timeoutMs: v.RERANK_WEBHOOK_TIMEOUT_MS,
      inlineMax: v.RERANK_WEBHOOK_INLINE_MAX,
    },
    queue: {
      lockDurationMs: v.RERANK_LOCK_DURATION_MS,
      stalledIntervalMs: v.RERANK_STALLED_INTERVAL_MS,
      maxStalledCount: v.RERANK_MAX_STALLED_COUNT,
      shardAttempts: v.RERANK_SHARD_ATTEMPTS,
    },
    security: {
      webhookAllowedHosts: v.RERANK_WEBHOOK_ALLOWED_HOSTS ?? new HostList(),
      trustProxy: v.RERANK_TRUST_PROXY ?? null,
      secretKey: v.RERANK_SECRET_KEY,
      rateLimits: {
        requestsPerMinute: v.RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE,
        pairsPerMinute: v.RERANK_RATE_LIMIT_PAIRS_PER_MINUTE,
        activeJobs: v.RERANK_RATE_LIMIT_ACTIVE_JOBS,
      },
    },
    infraRetryMs: v.RERANK_INFRA_RETRY_MS,
    redisCommandTimeoutMs: v.RERANK_REDIS_COMMAND_TIMEOUT_MS,
    backpressure: { maxQueuedPairs: v.RERANK_MAX_QUEUED_PAIRS, redisMemoryCeiling: v.RERANK_REDIS_MEMORY_CEILING },
    redisMaxmemory: v.RERANK_REDIS_MAXMEMORY,
    drainTimeoutMs: v.RERANK_DRAIN_TIMEOUT_MS,
  };
  if (config.backpressure.maxQueuedPairs > 0 && config.backpressure.maxQueuedPairs < config.limits.maxPairs) {
    problems.push(
      `RERANK_MAX_QUEUED_PAIRS=${config.backpressure.maxQueuedPairs} is below RERANK_MAX_PAIRS=${config.limits.maxPairs}: a job of the largest size could never be accepted; raise it (or 0 to turn the check off)`,
    );
  }
  for (const admin of config.adminKeys) {
    const same = config.apiKeys.find((k) => k.key === admin.key);
    if (same)
      problems.push(
        `RERANK_ADMIN_KEYS: the key labelled "${admin.label}" is also the API key "${same.label}" of RERANK_API_KEYS; give the dashboard a key of its own`,
      );
  }
  if (config.models.length > 0) problems.push(...checkSlotModels(config.deviceSlots, config.models));
  if (v.RERANK_WORKER_MODELS && config.models.length > 0) {
    const names = config.models.map((m) => m.name);
    for (const w of v.RERANK_WORKER_MODELS) {
      if (!names.includes(w)) problems.push(`RERANK_WORKER_MODELS: "${w}" is not a model of RERANK_MODELS (${names.join(', ')})`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Configuration without secrets, for start-up logs. */
export function describeConfig(c: RerankConfig): Record<string, unknown> {
  const redis = (() => {
    try {
      const u = new URL(c.redisUrl);
      if (u.password) u.password = '***';
      return u.toString();
    } catch {
      return c.redisUrl;
    }
  })();
  return {
    redis,
    models: c.models.map((m) => `${m.name}=${m.path}${m.family ? ` (${m.family})` : ''}`),
    devices: c.deviceSlots.map((d) => (d.models ? `${d.device}=${d.models.join('+')}` : d.device)),
    threads: c.threads,
    apiKeys: c.apiKeys.map((k) => k.label),
    adminKeys: c.adminKeys.map((k) => k.label),
    jobListMax: c.jobListMax,
    limits: c.limits,
    shard: c.shard,
    workerConcurrency: c.workerConcurrency,
    workerSyncConcurrency: c.workerSyncConcurrency,
    workerTenantSlots: c.workerTenantSlots,
    workerModels: c.workerModels,
    queue: c.queue,
    webhook: c.webhook,
    resultTtlSeconds: c.resultTtlSeconds,
    security: {
      webhookAllowedHosts: c.security.webhookAllowedHosts.size,
      trustProxy: c.security.trustProxy === null ? false : c.security.trustProxy === 'all' ? 'all' : c.security.trustProxy.size,
      secretsEncrypted: c.security.secretKey !== undefined,
      rateLimits: c.security.rateLimits,
    },
    infraRetryMs: c.infraRetryMs,
    backpressure: c.backpressure,
  };
}

/** REDIS_URL's type: one of parseRedisUrl's forms. */
function redisUrlType() {
  return custom<string>('URL (redis://, rediss://, redis+cluster://, redis+sentinel://)', (raw, name) => {
    try {
      const t = parseRedisUrl(raw);
      if (t.kind === 'single' && !URL.canParse(raw))
        throw new Error(`REDIS_URL=${JSON.stringify(raw)}: expected redis://[user:pass@]host:port[/db]`);
      return { value: raw, problems: [] };
    } catch (e) {
      return { problems: [(e as Error).message.replace(/^REDIS_URL=/, `${name}=`)] };
    }
  });
}

/**
 * The one Redis URL of the process, from REDIS_URL or the list variables (at most one form set).
 * A cluster URL switches this process to hash-tagged key names (store/keys.ts) before any key is spelled.
 */
function redisUrlOf(
  url: string | undefined,
  clusterNodes: string | undefined,
  sentinels: string | undefined,
  sentinelName: string | undefined,
  problems: string[],
): string {
  const set = [
    url !== undefined && 'REDIS_URL',
    clusterNodes !== undefined && 'REDIS_CLUSTER_NODES',
    sentinels !== undefined && 'REDIS_SENTINELS',
  ].filter(Boolean);
  if (set.length > 1) problems.push(`${set.join(' and ')} are both set: set one way to reach Redis`);
  if ((sentinels === undefined) !== (sentinelName === undefined))
    problems.push('REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both (or REDIS_URL=redis+sentinel://s1:p1,s2:p2/<name>)');
  let out = url ?? 'redis://127.0.0.1:6379';
  if (clusterNodes !== undefined) out = `redis+cluster://${clusterNodes}`;
  else if (sentinels !== undefined && sentinelName !== undefined) out = `redis+sentinel://${sentinels}/${encodeURIComponent(sentinelName)}`;
  try {
    if (parseRedisUrl(out).kind === 'cluster') useClusterKeys();
  } catch (e) {
    problems.push((e as Error).message);
  }
  return out;
}
