/** Readiness: polling a condition, and polling an HTTP endpoint until it answers as expected. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppProcess } from './process';

/** A process that should have answered has exited: `waitFor` stops polling at once when `check` throws this. */
export class ProcessExitedError extends Error {}

/**
 * Polls until `check` returns a value (not undefined), or throws after `timeoutMs` with `what`. Errors
 * thrown by `check` count as "not yet", except ProcessExitedError, which ends the wait.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof ProcessExitedError) throw e;
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export interface WaitForHttpOptions {
  /** The status to wait for (default 200), or a test of it. */
  status?: number | ((status: number) => boolean);
  timeoutMs?: number;
  everyMs?: number;
  /** The process that should answer: its exit ends the wait at once, and its output tail goes into the error. */
  process?: AppProcess;
  /** Ends the wait early (the caller is shutting down). */
  signal?: AbortSignal;
}

/** Polls `url` with GET until it answers the expected status; throws after the timeout, on abort, or when `process` exits. */
export async function waitForHttp(url: string, options: WaitForHttpOptions = {}): Promise<void> {
  const { status = 200, timeoutMs = 30000, everyMs = 150, process: proc, signal } = options;
  const ok = typeof status === 'number' ? (s: number) => s === status : status;
  const tail = () => (proc && proc.output() ? ` (${proc.name} output:\n${proc.output().slice(-3000)})` : '');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`stopped waiting for ${url}`);
    if (proc && !proc.running())
      throw new ProcessExitedError(`${proc.name} exited (code ${await proc.exited}) before ${url} answered${tail()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (ok(r.status)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${url} to answer ${typeof status === 'number' ? status : 'as expected'}${tail()}`,
      );
    await sleep(everyMs);
  }
}
