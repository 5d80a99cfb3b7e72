/**
 * Retries of Redis infrastructure errors (connection lost, OOM under maxmemory, MISCONF, READONLY during a
 * failover, timeouts) with exponential backoff, for a bounded time (RERANK_INFRA_RETRY_MS). They are
 * kept apart from a job's own attempts (RERANK_SHARD_ATTEMPTS), which are for errors of the work.
 */
import type { Redis } from 'ioredis';
import type { Logger } from './logger';
import { isRedisInfraError } from './redis';

export interface InfraRetryOptions {
  /** How long to keep retrying after the first failure before giving up (RERANK_INFRA_RETRY_MS). */
  budgetMs: number;
  /** What is being done, for logs and the final error ("storing the results of job_x"). */
  what: string;
  log?: Pick<Logger, 'warn' | 'info'>;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** The bounded retry time passed while Redis kept refusing; `cause` is Redis's last error. */
export class InfraRetryExhaustedError extends Error {
  override readonly name = 'InfraRetryExhaustedError';
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    readonly lastError: Error,
  ) {
    super(`Redis unavailable for ${waitedMs} ms while ${what} (gave up after RERANK_INFRA_RETRY_MS): ${lastError.message}`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `fn`; when it fails with an infrastructure error, runs it again with backoff (200 ms,
 * doubling, at most 5 s apart) until it succeeds or `budgetMs` passed since the first failure
 * (then InfraRetryExhaustedError). Any other error is thrown at once. `fn` must be safe to repeat.
 */
export async function withInfraRetry<T>(fn: () => Promise<T>, options: InfraRetryOptions): Promise<T> {
  const { budgetMs, what, log } = options;
  let delay = options.firstDelayMs ?? 200;
  const maxDelay = options.maxDelayMs ?? 5000;
  let started = 0;
  let retries = 0;
  let lastLog = 0;
  for (;;) {
    try {
      const value = await fn();
      if (retries > 0)
        log?.info(`${what}: Redis took it after ${retries} retr${retries === 1 ? 'y' : 'ies'} in ${Date.now() - started} ms`);
      return value;
    } catch (e) {
      if (!isRedisInfraError(e)) throw e;
      const now = Date.now();
      if (started === 0) started = now;
      const waited = now - started;
      if (waited >= budgetMs) throw new InfraRetryExhaustedError(what, waited, e as Error);
      if (now - lastLog >= 5000) {
        lastLog = now;
        log?.warn(`${what}: ${(e as Error).message}; retrying (for up to ${budgetMs} ms, RERANK_INFRA_RETRY_MS)`);
      }
      await sleep(Math.min(delay, budgetMs - waited));
      delay = Math.min(delay * 2, maxDelay);
      retries++;
    }
  }
}

/** Resolves once Redis takes a write again (a short-lived probe key); never gives up. */
export async function waitUntilWritable(redis: Redis, probeKey: string, maxDelayMs = 2000): Promise<void> {
  let delay = 200;
  for (;;) {
    try {
      await redis.set(probeKey, '1', 'PX', 10000);
      return;
    } catch (e) {
      if (!isRedisInfraError(e)) throw e;
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
