import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { useClusterKeys } from './store/keys';

export interface RedisClientOptions {
  /** BullMQ workers and QueueEvents: retry forever, no command timeout (they block on purpose). */
  blocking?: boolean;
  name?: string;
  /**
   * Fail a command after this long, queued while disconnected or sent and unanswered (a network
   * partition), instead of waiting for reconnects. Request-path clients set it so HTTP requests
   * answer quickly when Redis is down.
   */
  commandTimeoutMs?: number;
}

/** Where Redis is: one node (redis://, rediss://), a Cluster, or a master found through Sentinels. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean }
  | {
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      db: number;
      username?: string;
      password?: string;
      tls: boolean;
    };

const MULTI_HOST = /^(redis|rediss)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/]+)(?:\/(.*))?$/;

function hostPorts(list: string, what: string): { host: string; port: number }[] {
  return list.split(',').map((hp) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp.trim());
    if (!m) throw new Error(`${what}: "${hp}" is not host:port`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : what.includes('sentinel') ? 26379 : 6379 };
  });
}

/**
 * Reads a REDIS_URL: `redis[s]://[user:pass@]host:port[/db]` (one node),
 * `redis[s]+cluster://[user:pass@]h1:p1,h2:p2` (Redis Cluster: any reachable nodes, the rest are discovered) or
 * `redis[s]+sentinel://[user:pass@]s1:p1,s2:p2/<master name>[/db]` (Sentinel; user:pass are the master's).
 * Throws an Error that says which form was expected.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const m = MULTI_HOST.exec(url);
  if (!m) {
    if (!/^rediss?:\/\//.test(url))
      throw new Error(
        `REDIS_URL=${JSON.stringify(url)}: expected redis://host:port[/db], rediss://..., redis+cluster://h1:p1,h2:p2 or redis+sentinel://s1:p1,s2:p2/<master name>`,
      );
    return { kind: 'single', url };
  }
  const [, scheme, kind, auth, hosts, path] = m;
  const [user, pass] = auth ? auth.split(':').map(decodeURIComponent) : [];
  const credentials = { ...(user ? { username: user } : {}), ...(pass !== undefined ? { password: pass } : {}) };
  const tls = scheme === 'rediss';
  if (kind === 'cluster') {
    if (path) throw new Error(`REDIS_URL=${JSON.stringify(url)}: a Redis Cluster has no database number; drop the /${path}`);
    return { kind: 'cluster', nodes: hostPorts(hosts, 'REDIS_URL cluster node'), tls, ...credentials };
  }
  const [name, db] = (path ?? '').split('/');
  if (!name)
    throw new Error(
      `REDIS_URL=${JSON.stringify(url)}: name the master after the sentinels, e.g. redis+sentinel://s1:26379,s2:26379/mymaster`,
    );
  if (db !== undefined && !/^\d+$/.test(db))
    throw new Error(`REDIS_URL=${JSON.stringify(url)}: the database after the master name must be a number`);
  return {
    kind: 'sentinel',
    sentinels: hostPorts(hosts, 'REDIS_URL sentinel'),
    name: decodeURIComponent(name),
    db: Number(db ?? 0),
    tls,
    ...credentials,
  };
}

/**
 * An ioredis client for a URL (parseRedisUrl's forms). `blocking` clients (BullMQ workers, QueueEvents)
 * retry forever; request-path clients fail a command after a few retries so an HTTP request does not hang.
 * A Cluster client is typed as Redis: it has the same commands (the service uses no node-only ones
 * except through redisNodes), and BullMQ takes either. A cluster URL switches the key schema to
 * hash-tagged names (store/keys.ts).
 */
export function createRedis(url: string, options: RedisClientOptions = {}): Redis {
  const target = parseRedisUrl(url);
  const opts: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.name,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...(options.commandTimeoutMs && !options.blocking
      ? { commandTimeout: options.commandTimeoutMs, connectTimeout: Math.max(options.commandTimeoutMs, 2000) }
      : {}),
  };
  let client: Redis;
  if (target.kind === 'single') client = new Redis(url, opts);
  else if (target.kind === 'sentinel') {
    client = new Redis({
      ...opts,
      sentinels: target.sentinels,
      name: target.name,
      db: target.db,
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      sentinelRetryStrategy: (times) => Math.min(200 * times, 2000),
      // After a failover the old master comes back as a replica: READONLY means "ask the sentinels again".
      reconnectOnError: (e) => (/^READONLY\b/.test(e.message) ? 2 : false),
    });
  } else {
    useClusterKeys();
    const { retryStrategy, ...nodeOpts } = opts;
    client = new Cluster(target.nodes, {
      clusterRetryStrategy: retryStrategy,
      enableReadyCheck: true,
      // Keep commands queued through a failover or resharding instead of failing them at once.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      redisOptions: { ...nodeOpts, username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}) },
    }) as unknown as Redis;
  }
  // ioredis reconnects by itself; log its errors at most every 10 s instead of an unhandled 'error' event per retry.
  let lastLog = 0;
  client.on('error', (e: Error) => {
    if (Date.now() - lastLog < 10000) return;
    lastLog = Date.now();
    console.warn(`${new Date().toISOString()} WARN  [redis${options.name ? ` ${options.name}` : ''}] ${e.message} (reconnecting)`);
  });
  return client;
}

/** The nodes to ask node-level questions (INFO, SCAN): a Cluster's masters, else the client itself. */
export function redisNodes(client: Redis): Redis[] {
  const c = client as unknown as Cluster;
  return c.isCluster ? c.nodes('master') : [client];
}

/** Resolves once the client answers PING (or rejects after `timeoutMs`). */
export async function waitForRedis(client: Redis, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await client.ping();
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`Redis did not answer within ${timeoutMs} ms: ${(last as Error)?.message ?? 'no reply'}`);
}

/** Error codes of a connection that failed or dropped (Node's net errors). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * True only for errors that mean Redis could not be reached (refused, dropped or timed-out
 * connections, ioredis giving up on a command): those are a 503 "retry later". Anything else
 * (a bug, a stack overflow, a Redis reply error such as OOM or WRONGTYPE) is an internal error.
 */
export function isRedisUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as Error & { code?: unknown; errno?: unknown };
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (typeof err.code === 'string' && CONNECTION_CODES.has(err.code)) return true;
  // ioredis: "Connection is closed.", "Stream isn't writeable and enableOfflineQueue options is false", connect timeouts.
  if (
    /^Connection is closed|Stream isn't writeable|^connect ETIMEDOUT|^Command timed out|Reached the max retries per request/.test(
      err.message,
    )
  )
    return true;
  if (/\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)\b/.test(err.message)) return true;
  return false;
}

/**
 * Reply prefixes of a Redis that is there but cannot take the command now: full (OOM under maxmemory;
 * MISCONF, writes stopped after a snapshot failed, e.g. on a full disk), a replica, loading, failing over.
 */
const REFUSING_REPLY = /^(OOM|MISCONF|READONLY|LOADING|MASTERDOWN|NOREPLICAS|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True for infrastructure errors of Redis: the connection is lost, refused or timed out, or the
 * server refuses the command for now (OOM under maxmemory, MISCONF on a full disk, READONLY during
 * a failover, LOADING, ...). Such errors say nothing about the job and go away by themselves: retry them with backoff
 * (withInfraRetry) instead of spending the job's attempts. A MULTI aborted because a queued
 * command was refused (EXECABORT) counts when every refusal is one of these.
 */
/** What Redis said of an infrastructure error: a MULTI aborted by refusals (EXECABORT) reports the first refusal. */
export function infraErrorReason(e: Error): string {
  const first = (e as Error & { previousErrors?: unknown[] }).previousErrors?.[0];
  return /^EXECABORT\b/.test(e.message) && first instanceof Error ? first.message : e.message;
}

export function isRedisInfraError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as Error & { code?: string; previousErrors?: unknown[] };
  if (isRedisUnavailable(e) || REFUSING_REPLY.test(err.message)) return true;
  if (/^EXECABORT\b/.test(err.message) && Array.isArray(err.previousErrors) && err.previousErrors.length > 0) {
    return err.previousErrors.every((p) => isRedisInfraError(p));
  }
  return false;
}
