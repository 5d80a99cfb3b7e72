/**
 * The API's request plumbing for operations, mounted before everything else (so it also sees the
 * 401/413/415 answers sent before Nest routes a request, by the checks around the body parser):
 * - X-Request-Id: a sane one from the client is kept, otherwise one is generated; echoed on the
 *   answer and available to services (`currentRequestId`) so a job stores it;
 * - the request's AbortSignal (`currentRequestSignal`): aborted when the client closes the connection
 *   before its answer was sent, so a synchronous request stops its scoring;
 * - one access-log line per request (method, route template, status, duration, key label; never the key);
 * - rerank_http_requests_total / rerank_http_request_duration_seconds by route template;
 * - GET /metrics (Prometheus text, cluster gauges refreshed from Redis).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ClusterGauges, Logger, Metrics } from '@rerank/jobs';
import type { ApiRequest } from './http';

export const REQUEST_ID_HEADER = 'x-request-id';
/** What a client may send as its request id: short, printable, no spaces or quotes (it ends up in logs and Redis). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

interface RequestContext {
  requestId: string;
  /** Aborted when the connection closed before the answer was sent. */
  signal: AbortSignal;
}

const context = new AsyncLocalStorage<RequestContext>();
/** Each request's context, for `rebindRequestContext`. */
const contexts = new WeakMap<object, RequestContext>();

/** The id of the request being served (undefined outside one). */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/** The signal of the request being served: aborted once its client went away (undefined outside a request). */
export function currentRequestSignal(): AbortSignal | undefined {
  return context.getStore()?.signal;
}

export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

/** Route template of a request (e.g. /v1/jobs/:id), never the raw path: label values stay bounded. */
export type RouteOf = (req: ApiRequest & { route?: { path?: unknown } }) => string;

export interface ObservabilityOptions {
  log: Logger;
  metrics: Metrics;
  gauges: ClusterGauges;
  /** Template of a request no route matched (401 before routing, 404): see `expressRouteTemplates`. */
  routeOf: RouteOf;
}

export function observability({ log, metrics, gauges, routeOf }: ObservabilityOptions) {
  return (req: ApiRequest & { id?: string }, res: ServerResponse, next: () => void): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      gauges
        .refresh()
        .catch((e: Error) => log.warn(`metrics: cluster gauges not refreshed: ${e.message}`))
        .then(() => metrics.text())
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        }, next);
      return;
    }
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    req.id = requestId;
    res.setHeader('X-Request-Id', requestId);
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req);
      const method = req.method ?? 'GET';
      metrics.counter('rerank_http_requests_total', { route, method, status: String(res.statusCode) });
      // An event stream lasts as long as its job: not a latency.
      if (!String(res.getHeader('content-type') ?? '').startsWith('text/event-stream'))
        metrics.observe('rerank_http_request_duration_seconds', { route, method }, seconds);
      const fields = {
        request_id: requestId,
        method,
        route,
        status: res.statusCode,
        duration_ms: Math.round(seconds * 1e4) / 10,
        key: req.keyLabel ?? null,
      };
      const line = `${method} ${route} ${res.statusCode}`;
      if (res.statusCode >= 500) log.error(line, fields);
      else if (res.statusCode >= 400) log.warn(line, fields);
      else log.info(line, fields);
    });
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort('the client closed the connection');
    });
    const ctx = { requestId, signal: gone.signal };
    contexts.set(req, ctx);
    context.run(ctx, next);
  };
}

/**
 * Restores the request's context after the body was read: stream events run outside the context
 * `observability` entered, so services (a job storing its request id) would not see it. Mount after
 * the body parser.
 */
export function rebindRequestContext(req: ApiRequest & { id?: string }, _res: ServerResponse, next: () => void): void {
  const ctx = contexts.get(req);
  if (ctx) context.run(ctx, next);
  else next();
}

/**
 * Route templates of the Express app's routes, for requests that did not reach their handler (the
 * 401/413/415 around the body parser): the template whose pattern matches the path, else 'unmatched'.
 */
export function expressRouteTemplates(getRouter: () => unknown): RouteOf {
  return (req) => {
    const own = req.route?.path;
    if (typeof own === 'string') return own;
    const path = (req.url ?? '/').split('?')[0];
    try {
      const stack =
        (getRouter() as { stack?: { route?: { path?: string; methods?: Record<string, boolean> }; match?: (p: string) => boolean }[] })
          ?.stack ?? [];
      for (const layer of stack) {
        const template = layer.route?.path;
        // Catch-all layers ('{/*splat}') would name every path: not a route of ours.
        if (template && !template.includes('*') && layer.route?.methods?.[(req.method ?? '').toLowerCase()] && layer.match?.(path))
          return template;
      }
    } catch {
      // Express internals changed: fall through.
    }
    return 'unmatched';
  };
}
