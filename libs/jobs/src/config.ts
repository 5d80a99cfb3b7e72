/**
 * Every environment variable of the job system, read and checked in one place. Each app calls
 * `loadConfig()` once at start; a bad value stops it with a message naming the variable.
 * `CONFIG_VARS` lists them all (name, default, description) for docs and deploy checks.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { FAMILIES, type Family, parseDevice, deviceName } from '@rerank/engine';
import { HostList } from './net/address-policy';
import { MIN_SECRET_KEY_CHARS } from './net/secret-box';

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
  /** undefined: the app's default; 0: no health server. */
  healthPort: number | undefined;
  dataDir: string;
  models: ModelConfig[];
  modelsFromEnv: boolean;
  cacheDir: string | undefined;
  devices: string[];
  threads: number;
  apiKeys: ApiKey[];
  limits: Limits;
  syncTimeoutMs: number;
  resultTtlSeconds: number;
  shard: { maxPairs: number; maxChars: number; minShards: number };
  /** Shards one worker process scores at once. */
  workerConcurrency: number;
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

export interface ConfigVar {
  name: string;
  /** The default as a string; null when there is none (the behaviour without it is in the description). */
  default: string | null;
  description: string;
  /** Which processes read it, when not the job system's apps (e.g. ['cli']). */
  processes?: readonly string[];
}

/** All variables, in documentation order. */
export const CONFIG_VARS: readonly ConfigVar[] = [
  { name: 'REDIS_URL', default: null, description: 'Redis connection URL (redis://[user:pass@]host:port[/db], rediss:// for TLS). Apps connect to redis://127.0.0.1:6379 when unset; `npm start` starts its own redis-server instead.' },
  { name: 'PORT', default: '3000', description: 'HTTP port of the API.' },
  { name: 'HEALTH_PORT', default: null, description: 'Port of the /health/live and /health/ready endpoints of the worker launcher and the aggregator (default 8081 for the launcher, 8082 for the aggregator; 0 turns the health server off).' },
  { name: 'RERANK_DATA_DIR', default: './data', description: 'Where `npm start` keeps redis persistence (<dir>/redis) and the generated test model (<dir>/models).' },
  { name: 'RERANK_MODELS', default: null, description: 'Models to serve: a JSON array [{"name","path","family"?,"options"?}] or the shorthand name=path,name2=path2 (path: model directory or hub id). Unset: `npm start` generates and serves a tiny test model; the other apps refuse to start.' },
  { name: 'RERANK_CACHE_DIR', default: null, description: 'Engine model cache (hub downloads, names looked up by the engine); default ~/.cache/rerank.' },
  { name: 'RERANK_DEVICES', default: 'cpu', description: 'Devices of the worker launcher, one worker process each: cpu, cuda:0, cuda:1, ... comma separated (cpu may repeat).' },
  { name: 'RERANK_THREADS', default: null, description: 'CPU threads for scoring (default: the number of CPU cores). The launcher splits them across its CPU workers; a worker uses them as the runtime intra-op threads.' },
  { name: 'RERANK_API_KEYS', default: null, description: 'API keys, comma separated, each optionally as label:key. Unset: the API runs open (a warning is logged).' },
  { name: 'RERANK_MAX_BODY_BYTES', default: '33554432', description: 'Largest request body in bytes (413 beyond).' },
  { name: 'RERANK_MAX_DOCUMENTS', default: '100000', description: 'Most documents in one request (all queries together).' },
  { name: 'RERANK_MAX_DOCUMENT_CHARS', default: '20000', description: 'Most characters in one document or query.' },
  { name: 'RERANK_MAX_QUERIES', default: '100', description: 'Most queries in one job.' },
  { name: 'RERANK_MAX_PAIRS', default: '1000000', description: 'Most (query, document) pairs in one job.' },
  { name: 'RERANK_MAX_TOP_K', default: '1000', description: 'Largest top_k / top_n accepted.' },
  { name: 'RERANK_SYNC_MAX_DOCUMENTS', default: '10000', description: 'Most documents of a synchronous /v1/rerank or /v2/rerank request (cut into shard-sized parts that workers share); larger ones get 413 pointing to /v1/jobs.' },
  { name: 'RERANK_SYNC_TIMEOUT_MS', default: '30000', description: 'How long a synchronous request waits for a worker before 504.' },
  { name: 'RERANK_RESULT_TTL_SECONDS', default: '86400', description: 'How long a finished job, its results and its idempotency key stay in Redis.' },
  { name: 'RERANK_SHARD_MAX_PAIRS', default: '1000', description: 'Most pairs in one shard (the unit of work a worker takes).' },
  { name: 'RERANK_SHARD_MIN_COUNT', default: '16', description: 'A job is cut into at least this many shards of similar cost when its pairs allow (down to 32 pairs per shard), so several workers share even a small job evenly.' },
  { name: 'RERANK_WORKER_CONCURRENCY', default: '2', description: 'Shards one worker scores at once. Two keep its device busy while the other shard\'s texts are read from and its scores written to Redis, and tokenized; the engine interleaves their batches.' },
  { name: 'RERANK_SHARD_MAX_CHARS', default: '1000000', description: 'Most characters (query + document, summed over pairs) in one shard.' },
  { name: 'RERANK_WEBHOOK_ATTEMPTS', default: '8', description: 'Delivery attempts of a webhook before its failure is recorded on the job.' },
  { name: 'RERANK_WEBHOOK_BACKOFF_MS', default: '2000', description: 'First retry delay of a webhook; doubles with each attempt (exponential backoff).' },
  { name: 'RERANK_WEBHOOK_TIMEOUT_MS', default: '10000', description: 'Timeout of one webhook POST.' },
  { name: 'RERANK_WEBHOOK_INLINE_MAX', default: '100', description: 'Webhooks carry the results inline when the job has at most this many top-k entries (all queries together); otherwise only the link.' },
  { name: 'RERANK_LOCK_DURATION_MS', default: '10000', description: 'BullMQ lock of a shard being scored, renewed by its worker every half of it; a worker that dies loses its shard to another within this plus RERANK_STALLED_INTERVAL_MS (about 12 s with the defaults). Keep it above twice the longest pause of a worker\'s event loop.' },
  { name: 'RERANK_STALLED_INTERVAL_MS', default: '2000', description: 'How often workers (and the aggregator, for its queues) look for stalled shards of dead processes and queue them again; one cheap Redis script per interval across all workers.' },
  { name: 'RERANK_MAX_STALLED_COUNT', default: '5', description: 'How many times a shard may stall (its worker killed) before it fails.' },
  { name: 'RERANK_SHARD_ATTEMPTS', default: '3', description: 'Attempts of a shard that throws (engine errors) before it fails the job.' },
  { name: 'RERANK_WEBHOOK_ALLOWED_HOSTS', default: null, description: 'Internal webhook receivers allowed despite the SSRF guard: hostnames and CIDRs, comma separated (e.g. 10.0.0.0/8,hooks.internal). Unset: webhook URLs whose host is or resolves to a loopback, private, link-local, CGNAT, multicast or unspecified address are refused. Set it on the API and the aggregator alike.' },
  { name: 'RERANK_TRUST_PROXY', default: null, description: 'Whose X-Forwarded-Proto/Host the API believes when building job links: true (any peer: only behind a proxy that overwrites them) or the proxies\' addresses/CIDRs, comma separated. Unset: X-Forwarded-* is ignored.' },
  { name: 'RERANK_SECRET_KEY', default: null, description: 'Encrypts webhook secrets at rest in Redis (AES-256-GCM; at least 32 characters, e.g. `openssl rand -base64 32`). Set the same value on the API and the aggregator. Unset: secrets are stored in plain text (a warning is logged).' },
  { name: 'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE', default: '3000', description: 'Requests per minute per API key (open API: all clients together) on /v1/rerank, /v2/rerank, /v1/jobs and /v1/models, shared by all API replicas; 429 with Retry-After beyond. 0: no limit.' },
  { name: 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE', default: '5000000', description: '(query, document) pairs per minute per API key, synchronous requests and jobs together; 429 with Retry-After beyond. 0: no limit.' },
  { name: 'RERANK_RATE_LIMIT_ACTIVE_JOBS', default: '200', description: 'Jobs per API key queued or running at once; 429 beyond until one ends. 0: no limit.' },
  { name: 'RERANK_MAX_METADATA_DEPTH', default: '32', description: 'Deepest nesting of a job\'s `metadata` (objects and lists inside it); deeper is a 400.' },
  { name: 'RERANK_MAX_METADATA_BYTES', default: '16384', description: 'Largest `metadata` of a job, in bytes as JSON; larger is a 400.' },
  { name: 'RERANK_INFRA_RETRY_MS', default: '300000', description: 'How long workers and the aggregator keep retrying a Redis write or read that fails for infrastructure reasons (connection lost, OOM under maxmemory, READONLY during a failover, timeouts), with backoff, before the shard or job fails with the reason. These retries do not use RERANK_SHARD_ATTEMPTS.' },
  { name: 'RERANK_REDIS_COMMAND_TIMEOUT_MS', default: '5000', description: 'The API fails a Redis command after this long (503) instead of waiting for Redis; while Redis is disconnected it answers 503 at once.' },
  { name: 'RERANK_MAX_QUEUED_PAIRS', default: '20000000', description: 'Backpressure: the API answers 503 (code overloaded, Retry-After) to a new job or synchronous request while the pairs of unfinished jobs plus its own would pass this; 0 turns the check off. At least RERANK_MAX_PAIRS.' },
  { name: 'RERANK_REDIS_MEMORY_CEILING', default: '0.9', description: 'Backpressure: the API answers 503 (code overloaded, Retry-After) to a new job or synchronous request while Redis used_memory is above this fraction of its maxmemory (0 < x <= 1; INFO memory, read at most once a second). No check when Redis has no maxmemory.' },
  { name: 'RERANK_REDIS_MAXMEMORY', default: '1gb', description: 'maxmemory of the redis-server that `npm start` starts when REDIS_URL is unset (Redis units: 512mb, 2gb; with noeviction). Other Redis deployments set their own.' },
  { name: 'RERANK_DRAIN_TIMEOUT_MS', default: '25000', description: 'On SIGTERM the API stops accepting connections and waits this long for in-flight requests (synchronous reranks included) before it answers what is left with 503 and exits; keep it below the orchestrator\'s grace period.' },
  // Client side: read by `rerank jobs ...` (apps/cli), not by the service.
  { name: 'RERANK_URL', default: 'http://localhost:3000', description: 'Base URL of the rerank API that `rerank jobs ...` talks to (--url overrides it).', processes: ['cli'] },
  { name: 'RERANK_API_KEY', default: null, description: 'API key `rerank jobs ...` sends as Authorization: Bearer (one of the server\'s RERANK_API_KEYS). Unset: no key is sent (an open API).', processes: ['cli'] },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

const DEFAULTS: Record<string, string | null> = Object.fromEntries(CONFIG_VARS.map((v) => [v.name, v.default]));

/** Reads one variable: undefined when unset or blank. */
function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  value(name: string): string | undefined {
    return raw(this.env, name) ?? DEFAULTS[name] ?? undefined;
  }

  int(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value(name);
    const fallback = Number(DEFAULTS[name] ?? min);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name}=${JSON.stringify(v)}: expected an integer from ${min} to ${max}${DEFAULTS[name] ? ` (default ${DEFAULTS[name]})` : ''}`);
      return fallback;
    }
    return Number(v);
  }

  /** A fraction in (0, 1]. */
  fraction(name: string): number {
    const v = this.value(name);
    const fallback = Number(DEFAULTS[name] ?? 1);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^(0|1)?(\.\d+)?$/.test(v) || !(n > 0 && n <= 1)) {
      this.problems.push(`${name}=${JSON.stringify(v)}: expected a fraction above 0 and at most 1, e.g. 0.9${DEFAULTS[name] ? ` (default ${DEFAULTS[name]})` : ''}`);
      return fallback;
    }
    return n;
  }

  fail(message: string): void {
    this.problems.push(message);
  }
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
      return { models, problems: [`RERANK_MODELS: not valid JSON (${(e as Error).message}); use [{"name":"...","path":"..."}] or name=path,name2=path2`] };
    }
    if (!Array.isArray(parsed)) return { models, problems: ['RERANK_MODELS: the JSON form must be an array of {"name","path","family"?,"options"?}'] };
    parsed.forEach((entry, i) => {
      const where = `RERANK_MODELS[${i}]`;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        problems.push(`${where}: expected an object {"name","path","family"?,"options"?}`);
        return;
      }
      const e = entry as Record<string, unknown>;
      for (const key of Object.keys(e)) {
        if (!['name', 'path', 'family', 'options', 'generated'].includes(key)) problems.push(`${where}: unknown key "${key}" (known: name, path, family, options, generated)`);
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
    for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
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
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  parts.forEach((part, i) => {
    const colon = part.indexOf(':');
    const label = colon > 0 ? part.slice(0, colon).trim() : `key${i + 1}`;
    const key = colon > 0 ? part.slice(colon + 1).trim() : part;
    if (key.length < 8 || /\s/.test(key)) problems.push(`RERANK_API_KEYS: the key labelled "${label}" must be at least 8 characters without spaces`);
    else if (keys.some((k) => k.key === key)) problems.push(`RERANK_API_KEYS: the key labelled "${label}" is listed twice`);
    else keys.push({ label, key });
  });
  return { keys, problems };
}

export function parseDevices(text: string): { devices: string[]; problems: string[] } {
  const devices: string[] = [];
  const problems: string[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    try {
      devices.push(deviceName(parseDevice(part)));
    } catch {
      problems.push(`RERANK_DEVICES: unknown device "${part}"; use cpu, cuda:0, cuda:1, ... comma separated`);
    }
  }
  if (devices.length === 0 && problems.length === 0) problems.push('RERANK_DEVICES: lists no device; use cpu or cuda:0,cuda:1,...');
  return { devices, problems };
}

function parseRedisUrl(r: Reader, v: string): void {
  try {
    const u = new URL(v);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
  } catch {
    r.fail(`REDIS_URL=${JSON.stringify(v)}: expected redis://host:port[/db] or rediss://...`);
  }
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
  const r = new Reader(env);
  const redisRaw = raw(env, 'REDIS_URL');
  if (redisRaw) parseRedisUrl(r, redisRaw);

  const modelsRaw = raw(env, 'RERANK_MODELS');
  let models: ModelConfig[] = [];
  if (modelsRaw) {
    const parsed = parseModels(modelsRaw);
    models = parsed.models;
    parsed.problems.forEach((p) => r.fail(p));
  } else if (options.requireModels) {
    r.fail('RERANK_MODELS: not set; list the models to serve, e.g. RERANK_MODELS=bge=BAAI/bge-reranker-base (or run `npm start`, which serves a generated test model)');
  }

  const devicesParsed = parseDevices(r.value('RERANK_DEVICES') ?? 'cpu');
  devicesParsed.problems.forEach((p) => r.fail(p));

  let apiKeys: ApiKey[] = [];
  const keysRaw = raw(env, 'RERANK_API_KEYS');
  if (keysRaw) {
    const parsed = parseApiKeys(keysRaw);
    apiKeys = parsed.keys;
    parsed.problems.forEach((p) => r.fail(p));
  }

  const healthRaw = raw(env, 'HEALTH_PORT');
  const healthPort = healthRaw === undefined ? undefined : r.int('HEALTH_PORT', 0, 65535);
  const threadsRaw = raw(env, 'RERANK_THREADS');
  const threads = threadsRaw === undefined ? availableParallelism() : r.int('RERANK_THREADS', 1, 1024);

  const config: RerankConfig = {
    redisUrl: redisRaw ?? 'redis://127.0.0.1:6379',
    redisUrlFromEnv: redisRaw !== undefined,
    port: r.int('PORT', 0, 65535),
    healthPort,
    dataDir: resolve(r.value('RERANK_DATA_DIR') ?? './data'),
    models,
    modelsFromEnv: modelsRaw !== undefined,
    cacheDir: raw(env, 'RERANK_CACHE_DIR'),
    devices: devicesParsed.devices,
    threads,
    apiKeys,
    limits: {
      maxBodyBytes: r.int('RERANK_MAX_BODY_BYTES', 1024),
      maxDocuments: r.int('RERANK_MAX_DOCUMENTS', 1),
      maxDocumentChars: r.int('RERANK_MAX_DOCUMENT_CHARS', 1),
      maxQueries: r.int('RERANK_MAX_QUERIES', 1),
      maxPairs: r.int('RERANK_MAX_PAIRS', 1),
      maxTopK: r.int('RERANK_MAX_TOP_K', 1),
      syncMaxDocuments: r.int('RERANK_SYNC_MAX_DOCUMENTS', 1),
      maxMetadataDepth: r.int('RERANK_MAX_METADATA_DEPTH', 1, 1000),
      maxMetadataBytes: r.int('RERANK_MAX_METADATA_BYTES', 2),
    },
    syncTimeoutMs: r.int('RERANK_SYNC_TIMEOUT_MS', 100),
    resultTtlSeconds: r.int('RERANK_RESULT_TTL_SECONDS', 1),
    shard: { maxPairs: r.int('RERANK_SHARD_MAX_PAIRS', 1), maxChars: r.int('RERANK_SHARD_MAX_CHARS', 1), minShards: r.int('RERANK_SHARD_MIN_COUNT', 1, 10000) },
    workerConcurrency: r.int('RERANK_WORKER_CONCURRENCY', 1, 64),
    webhook: {
      attempts: r.int('RERANK_WEBHOOK_ATTEMPTS', 1, 100),
      backoffMs: r.int('RERANK_WEBHOOK_BACKOFF_MS', 1),
      timeoutMs: r.int('RERANK_WEBHOOK_TIMEOUT_MS', 100),
      inlineMax: r.int('RERANK_WEBHOOK_INLINE_MAX', 0),
    },
    queue: {
      lockDurationMs: r.int('RERANK_LOCK_DURATION_MS', 1000),
      stalledIntervalMs: r.int('RERANK_STALLED_INTERVAL_MS', 500),
      maxStalledCount: r.int('RERANK_MAX_STALLED_COUNT', 1, 1000),
      shardAttempts: r.int('RERANK_SHARD_ATTEMPTS', 1, 100),
    },
    security: readSecurity(r, env),
    infraRetryMs: r.int('RERANK_INFRA_RETRY_MS', 0),
    redisCommandTimeoutMs: r.int('RERANK_REDIS_COMMAND_TIMEOUT_MS', 100),
    backpressure: { maxQueuedPairs: r.int('RERANK_MAX_QUEUED_PAIRS', 0), redisMemoryCeiling: r.fraction('RERANK_REDIS_MEMORY_CEILING') },
    redisMaxmemory: r.value('RERANK_REDIS_MAXMEMORY') ?? '1gb',
    drainTimeoutMs: r.int('RERANK_DRAIN_TIMEOUT_MS', 0),
  };
  if (!/^\d+(b|kb|mb|gb|k|m|g)?$/i.test(config.redisMaxmemory)) {
    r.fail(`RERANK_REDIS_MAXMEMORY=${JSON.stringify(config.redisMaxmemory)}: expected a size in Redis units, e.g. 512mb or 2gb (0: no limit, not recommended)`);
  }
  if (config.backpressure.maxQueuedPairs > 0 && config.backpressure.maxQueuedPairs < config.limits.maxPairs) {
    r.fail(`RERANK_MAX_QUEUED_PAIRS=${config.backpressure.maxQueuedPairs} is below RERANK_MAX_PAIRS=${config.limits.maxPairs}: a job of the largest size could never be accepted; raise it (or 0 to turn the check off)`);
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

function readSecurity(r: Reader, env: Env): SecurityConfig {
  const allowed = HostList.parse(raw(env, 'RERANK_WEBHOOK_ALLOWED_HOSTS'), 'RERANK_WEBHOOK_ALLOWED_HOSTS');
  allowed.problems.forEach((p) => r.fail(p));
  let trustProxy: SecurityConfig['trustProxy'] = null;
  const trustRaw = raw(env, 'RERANK_TRUST_PROXY');
  if (trustRaw && /^(true|1|all|\*)$/i.test(trustRaw)) trustProxy = 'all';
  else if (trustRaw && !/^(false|0|none)$/i.test(trustRaw)) {
    const parsed = HostList.parse(trustRaw, 'RERANK_TRUST_PROXY');
    parsed.problems.forEach((p) => r.fail(`${p} (or true to trust any peer)`));
    trustProxy = parsed.list;
  }
  const secretKey = raw(env, 'RERANK_SECRET_KEY');
  if (secretKey !== undefined && secretKey.length < MIN_SECRET_KEY_CHARS) {
    r.fail(`RERANK_SECRET_KEY: at least ${MIN_SECRET_KEY_CHARS} characters, got ${secretKey.length}; generate one with \`openssl rand -base64 32\``);
  }
  return {
    webhookAllowedHosts: allowed.list,
    trustProxy,
    secretKey,
    rateLimits: {
      requestsPerMinute: r.int('RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE', 0),
      pairsPerMinute: r.int('RERANK_RATE_LIMIT_PAIRS_PER_MINUTE', 0),
      activeJobs: r.int('RERANK_RATE_LIMIT_ACTIVE_JOBS', 0),
    },
  };
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
    devices: c.devices,
    threads: c.threads,
    apiKeys: c.apiKeys.map((k) => k.label),
    limits: c.limits,
    shard: c.shard,
    workerConcurrency: c.workerConcurrency,
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
