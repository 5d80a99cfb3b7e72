import { Redis, type RedisOptions } from 'ioredis';

/** Default of `commandTimeout` for request-path clients (RERANK_REDIS_COMMAND_TIMEOUT_MS). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 5000;

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

/**
 * An ioredis client for a URL. `blocking` clients (BullMQ workers, QueueEvents) retry forever;
 * request-path clients fail a command after a few retries so an HTTP request does not hang.
 */
export function createRedis(url: string, options: RedisClientOptions = {}): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.name,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...(options.commandTimeoutMs && !options.blocking ? { commandTimeout: options.commandTimeoutMs, connectTimeout: Math.max(options.commandTimeoutMs, 2000) } : {}),
  };
  const client = new Redis(url, opts);
  // ioredis reconnects by itself; log its errors at most every 10 s instead of an unhandled 'error' event per retry.
  let lastLog = 0;
  client.on('error', (e: Error) => {
    if (Date.now() - lastLog < 10000) return;
    lastLog = Date.now();
    console.warn(`${new Date().toISOString()} WARN  [redis${options.name ? ` ${options.name}` : ''}] ${e.message} (reconnecting)`);
  });
  return client;
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
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

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
  if (/^Connection is closed|Stream isn't writeable|^connect ETIMEDOUT|^Command timed out|Reached the max retries per request/.test(err.message)) return true;
  if (/\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)\b/.test(err.message)) return true;
  return false;
}

/** Reply prefixes of a Redis that is there but cannot take the command now (full, a replica, loading, failing over). */
const REFUSING_REPLY = /^(OOM|READONLY|LOADING|MASTERDOWN|NOREPLICAS|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True for infrastructure errors of Redis: the connection is lost, refused or timed out, or the
 * server refuses the command for now (OOM under maxmemory, READONLY during a failover, LOADING,
 * ...). Such errors say nothing about the job and go away by themselves: retry them with backoff
 * (withInfraRetry) instead of spending the job's attempts. A MULTI aborted because a queued
 * command was refused (EXECABORT) counts when every refusal is one of these.
 */
export function isRedisInfraError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as Error & { code?: string; previousErrors?: unknown[] };
  if (isRedisUnavailable(e) || REFUSING_REPLY.test(err.message)) return true;
  if (/^EXECABORT\b/.test(err.message) && Array.isArray(err.previousErrors) && err.previousErrors.length > 0) {
    return err.previousErrors.every((p) => isRedisInfraError(p));
  }
  return false;
}
