/**
 * Request plumbing without express types: the JSON body reader (our own, so the size limit and
 * malformed JSON get the API's error shape) and small request helpers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type HostList, ValidationError, type ValidationKind } from '@rerank/jobs';
import { TeiError } from './compat/tei-error';
import { messageRoutes } from './routes';

export interface ApiRequest extends IncomingMessage {
  body?: unknown;
  /** Set by the API key guard: the tenant of the caller's key, who owns what this request creates or reads. */
  tenant?: string;
  /** The key's label (access log; never the key). */
  keyLabel?: string;
}

/** The one place core errors get their HTTP status and code. */
const VALIDATION_STATUS: Record<ValidationKind, { status: number; code: string }> = {
  invalid: { status: 400, code: 'invalid_request' },
  empty: { status: 400, code: 'invalid_request' },
  limit: { status: 413, code: 'limit_exceeded' },
  too_large_for_sync: { status: 413, code: 'too_large_for_sync' },
};

/** An error of ours as the HTTP API answers it, or null for anything else (a bug, Redis, ...). */
export function toApiError(e: unknown): ApiError | null {
  if (e instanceof ApiError) return e;
  if (e instanceof ValidationError) {
    const { status, code } = VALIDATION_STATUS[e.kind];
    return new ApiError(status, code, e.message, { field: e.field, limit: e.limit, extra: e.extra });
  }
  return null;
}

export function sendError(res: ServerResponse, e: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(compatErrorBody(e, res.req?.url ?? ''));
  res.statusCode = e.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
  res.end(body);
}

/**
 * The error body for a route's clients: Cohere's routes add Cohere's top-level `message` beside our
 * `error` object; TEI's `POST /rerank` answers TEI's `{error, error_type}`.
 */
function compatErrorBody(e: ApiError, url: string): unknown {
  if (e instanceof TeiError) return e.teiBody();
  if (messageRoutes.has(url.split('?')[0])) return { message: e.message, ...e.toBody() };
  return e.toBody();
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Reads JSON bodies of at most `limit` bytes into `req.body`; answers 400/401/413/415 itself.
 * `authenticate` runs first (every route with a body needs a key), so a caller without a valid key
 * gets 401 before a byte of the body is read or parsed.
 */
export function jsonBodyReader(limit: number, authenticate: (req: ApiRequest) => void = () => undefined) {
  const tooLarge = (size: string) =>
    new ApiError(
      413,
      'limit_exceeded',
      `the request body (${size}) exceeds the limit of ${limit} bytes (RERANK_MAX_BODY_BYTES); for more documents split the work into several jobs`,
      { limit: { name: 'bytes per request body', value: limit, env: 'RERANK_MAX_BODY_BYTES' } },
    );
  return (req: ApiRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (!WITH_BODY.has(req.method ?? '')) return next();
    try {
      authenticate(req);
    } catch (e) {
      req.resume();
      const api = toApiError(e);
      if (!api) return next(e);
      return sendError(res, api);
    }
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (length === undefined || length === '0')) return next();
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json' && !type.endsWith('+json')) {
      req.resume();
      return sendError(
        res,
        new ApiError(
          415,
          'unsupported_media_type',
          `Content-Type must be application/json, got ${type ? `"${type}"` : 'none'}; send the body as JSON`,
        ),
      );
    }
    if (length !== undefined && Number(length) > limit) {
      req.resume();
      return sendError(res, tooLarge(`${length} bytes`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        sendError(res, tooLarge(`more than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (failed) return;
      failed = true;
      // The client went away mid-body: nobody is left to answer, and it is no server error.
      if (req.destroyed || e.code === 'ECONNRESET' || e.message === 'aborted') return void res.destroy();
      next(e);
    });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks, size).toString('utf8');
      try {
        req.body = JSON.parse(text);
      } catch (e) {
        return sendError(
          res,
          new ApiError(
            400,
            'invalid_json',
            `the request body is not valid JSON (${(e as Error).message}); send one JSON object with Content-Type: application/json`,
          ),
        );
      }
      next();
    });
  };
}

/** Whose X-Forwarded-* headers count (RERANK_TRUST_PROXY): nobody (null), any peer, or peers in a list. */
export type ProxyTrust = HostList | 'all' | null;

/**
 * Scheme, host and port the client used, for job links. X-Forwarded-Proto/Host are honoured only
 * when the peer is a trusted proxy; otherwise anyone could make links point elsewhere.
 */
export function baseUrl(req: IncomingMessage, trust: ProxyTrust = null): string {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0].trim();
  const peer = req.socket.remoteAddress ?? '';
  const trusted = trust === 'all' || (trust !== null && trust.hasAddress(peer));
  const ownProto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const fwdProto = trusted ? first(req.headers['x-forwarded-proto'])?.toLowerCase() : undefined;
  const proto = fwdProto === 'http' || fwdProto === 'https' ? fwdProto : ownProto;
  const host = (trusted ? first(req.headers['x-forwarded-host']) : undefined) || req.headers.host || 'localhost';
  return `${proto}://${host}`;
}
