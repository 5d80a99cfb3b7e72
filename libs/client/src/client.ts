/**
 * A typed client of the rerank API: synchronous rerank and asynchronous jobs (submit, status,
 * wait with progress, watch its events, results, every score as a stream, cancel). Global fetch, no
 * other dependency.
 */
import { RerankApiError, RerankConnectionError, RerankTimeoutError } from './errors';
import { parseEventStream } from './event-stream';
import { parseJsonLines } from './ndjson';
import {
  type ErrorBody,
  type Job,
  type JobEndEventName,
  type JobEvent,
  type JobRequest,
  type JobResults,
  type RerankRequest,
  type RerankResponse,
  type ScoreLine,
  TERMINAL_STATUSES,
  type JobAccepted,
} from './types';

export interface RerankClientOptions {
  /** The API's base URL, e.g. http://localhost:3000 (a trailing slash is fine). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; omit for an open API. */
  apiKey?: string;
  /** Per-request timeout in ms (default 120000; 0: none). Streams are timed until their headers arrive. */
  timeoutMs?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** Called with every view polled, including the last. */
  onProgress?: (job: Job) => void;
  /** Poll interval in ms (default 500). */
  intervalMs?: number;
  /** Give up after this many ms with RerankTimeoutError (default: wait forever). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WatchOptions {
  /** Resume after this event (an `id` the stream gave): nothing at or before it is sent again. */
  lastEventId?: string;
  signal?: AbortSignal;
  /** Reconnects in a row (no event between them) before giving up with RerankConnectionError (default 10). */
  maxReconnects?: number;
  /** Called before each reconnect, with its number in the row and the cut that caused it. */
  onReconnect?: (attempt: number, cause: Error) => void;
}

/** The events a job's stream sends; others (from a newer server) are skipped. */
const JOB_EVENT_NAMES: ReadonlySet<string> = new Set<JobEvent['event']>(['progress', 'partial', 'completed', 'failed', 'cancelled']);
const END_EVENT_NAMES: readonly string[] = ['completed', 'failed', 'cancelled'] satisfies JobEndEventName[];
/** The reconnect delay until the stream sends its own `retry:`. */
const DEFAULT_RETRY_MS = 2000;

export class RerankClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(options: RerankClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl: expected an http(s) URL such as http://localhost:3000, got ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`baseUrl: expected http:// or https://, got ${JSON.stringify(options.baseUrl)}`);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey || undefined;
    this.timeoutMs = options.timeoutMs ?? 120000;
    this.fetchFn = options.fetch ?? fetch;
  }

  /** Synchronous rerank: Cohere v2 shape by default, `version: 1` for Cohere v1 / Jina. */
  rerank(request: RerankRequest, options: { version?: 1 | 2 } = {}): Promise<RerankResponse> {
    return this.json('POST', `/v${options.version ?? 2}/rerank`, request);
  }

  /** Queues a job (202, what is known at queue time); the same `idempotencyKey` and body give back the same job (200, its full view). */
  submitJob(request: JobRequest, options: { idempotencyKey?: string } = {}): Promise<JobAccepted> {
    return this.json('POST', '/v1/jobs', request, options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {});
  }

  getJob(id: string): Promise<Job> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Cancels a queued or running job (409 RerankApiError when it has already ended). */
  cancelJob(id: string): Promise<Job> {
    return this.json('DELETE', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Polls until the job is completed, failed or cancelled and returns that view (check `status`). */
  async waitForJob(id: string, options: WaitOptions = {}): Promise<Job> {
    const interval = options.intervalMs ?? 500;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      const job = await this.getJob(id);
      options.onProgress?.(job);
      if (TERMINAL_STATUSES.includes(job.status)) return job;
      if (Date.now() + interval > deadline) {
        throw new RerankTimeoutError(
          `job ${id} is still ${job.status} (${job.progress.pairs_done} of ${job.progress.pairs_total} pairs) after ${options.timeoutMs} ms`,
        );
      }
      await sleep(interval, options.signal);
    }
  }

  /** Top-k per query, best first (409 RerankApiError until the job has completed). */
  results(id: string): Promise<JobResults> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}/results`);
  }

  /** Every score of a completed job, one pair at a time as the server streams them (query by query, document order). */
  async *streamScores(id: string): AsyncGenerator<ScoreLine> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/results?all=true`;
    const res = await this.send('GET', path, undefined, { accept: 'application/x-ndjson' }, { stream: true });
    if (!res.ok) throw await this.failure(res, `GET ${path}`);
    if (!res.body) return;
    yield* parseJsonLines<ScoreLine>(res.body);
  }

  /**
   * A job's events as the server sends them (GET /v1/jobs/{id}/events): `progress`, `partial` (each
   * listed query's provisional best k: keep a map by query_index, or fold them with JobTopK), and
   * one final `completed` / `failed` / `cancelled`, after which the iteration ends. A stream cut
   * before the final event is resumed after the server's `retry` delay with Last-Event-ID, so no
   * state is lost or repeated; after `maxReconnects` cuts in a row it throws RerankConnectionError.
   * An HTTP error (unknown job, bad key) throws RerankApiError, but a 503 is retried (after its
   * Retry-After) as a cut is; an abort of `signal` throws its reason.
   * Each event carries its own `id` (null on all but the last of a batch): resume after the last non-null one.
   */
  async *watchJob(id: string, options: WatchOptions = {}): AsyncGenerator<JobEvent> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/events`;
    const maxReconnects = options.maxReconnects ?? 10;
    let lastId = options.lastEventId;
    let retryMs = DEFAULT_RETRY_MS;
    let attempts = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      // An answer that is not the API's event stream: reconnecting would not help.
      let fatal: Error | undefined;
      let cut: Error;
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) };
        const res = await this.send('GET', path, undefined, headers, { signal: options.signal, stream: true });
        // The job had ended and `lastEventId` was its final event: nothing follows.
        if (res.status === 204) return;
        if (!res.ok) throw await this.failure(res, `GET ${path}`);
        const type = res.headers.get('content-type') ?? '';
        if (!type.startsWith('text/event-stream') || !res.body) {
          await res.body?.cancel();
          throw (fatal = new RerankConnectionError(
            `GET ${this.baseUrl}${path}: expected text/event-stream, got ${JSON.stringify(type)} (is ${this.baseUrl} the rerank API?)`,
          ));
        }
        for await (const item of parseEventStream(res.body)) {
          if (item.kind === 'retry') retryMs = item.ms;
          if (item.kind === 'id') lastId = item.id;
          if (item.kind !== 'event') continue;
          const e = item.event;
          if (e.id !== null) lastId = e.id;
          if (!JOB_EVENT_NAMES.has(e.event)) continue;
          let data: unknown;
          try {
            data = JSON.parse(e.data);
          } catch {
            throw (fatal = new RerankConnectionError(
              `GET ${this.baseUrl}${path}: the data of a ${e.event} event is not JSON: ${e.data.slice(0, 200)}`,
            ));
          }
          attempts = 0;
          yield { event: e.event, id: e.id, data } as JobEvent;
          if (END_EVENT_NAMES.includes(e.event)) return;
        }
        cut = new Error('the server ended the stream before the final event');
      } catch (e) {
        // A 503 (the process is shutting down, or serves all the streams it may) is tried again as a cut is.
        if (e === fatal || (e instanceof RerankApiError && e.status !== 503) || options.signal?.aborted) throw e;
        // Refused, reset, timed out, or the body's read failed: the connection was cut.
        cut = e as Error;
      }
      if (++attempts > maxReconnects) {
        throw new RerankConnectionError(
          `GET ${this.baseUrl}${path}: the stream was cut ${attempts} times in a row before the job's final event (last: ${cut.message}); watch again with lastEventId ${JSON.stringify(lastId ?? null)} to resume`,
          { cause: cut },
        );
      }
      options.onReconnect?.(attempts, cut);
      await sleep(Math.max(retryMs, cut instanceof RerankApiError ? (cut.retryAfterSeconds ?? 0) * 1000 : 0), options.signal);
    }
  }

  private async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.send(method, path, body, headers);
    if (!res.ok) throw await this.failure(res, `${method} ${path}`);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new RerankConnectionError(
        `${method} ${this.baseUrl}${path}: expected JSON, got ${JSON.stringify(text.slice(0, 200))} (is ${this.baseUrl} the rerank API?)`,
      );
    }
  }

  /** A request, timed by `timeoutMs` to its end, or with `stream` until its headers arrive; `signal` aborts it with its reason. */
  private async send(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    options: { signal?: AbortSignal; stream?: boolean } = {},
  ): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const headersOnly = options.stream && this.timeoutMs > 0 ? new AbortController() : undefined;
    const timer = headersOnly
      ? setTimeout(() => headersOnly.abort(new DOMException(`no headers within ${this.timeoutMs} ms`, 'TimeoutError')), this.timeoutMs)
      : undefined;
    const signals = [
      ...(options.signal ? [options.signal] : []),
      ...(headersOnly ? [headersOnly.signal] : this.timeoutMs > 0 ? [AbortSignal.timeout(this.timeoutMs)] : []),
    ];
    try {
      return await this.fetchFn(this.baseUrl + path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
      });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      const error = e as Error & { cause?: { code?: string; message?: string } };
      const why =
        error.name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : (error.cause?.code ?? error.cause?.message ?? error.message);
      throw new RerankConnectionError(`${method} ${this.baseUrl}${path}: ${why}; is the rerank API running at ${this.baseUrl}?`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async failure(res: Response, what: string): Promise<RerankApiError> {
    const text = await res.text().catch(() => '');
    let body: ErrorBody | undefined;
    try {
      const parsed = JSON.parse(text) as ErrorBody;
      if (parsed && typeof parsed.error === 'object' && parsed.error) body = parsed;
    } catch {
      body = undefined;
    }
    if (!body) body = { error: { code: 'http_error', message: text.slice(0, 500) || res.statusText } };
    const retryAfter = Number(res.headers.get('retry-after'));
    return new RerankApiError(res.status, body, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined, what);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      // The caller's abort reason, passed through as fetch does (an AbortError unless the caller gave one).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
