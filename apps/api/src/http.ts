/**
 * Request plumbing without express types: where core errors get their status, the one way errors
 * leave the API (sendError), what runs around the framework's JSON body parser (401 before the body
 * is read, the API's 413/415/400 answers), and small request helpers.
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

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** JSON bodies: application/json and the +json types (application/vnd.api+json). */
const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');

function tooLarge(limit: number, size: string): ApiError {
  return new ApiError(
    413,
    'limit_exceeded',
    `the request body (${size}) exceeds the limit of ${limit} bytes (RERANK_MAX_BODY_BYTES); for more documents split the work into several jobs`,
    { limit: { name: 'bytes per request body', value: limit, env: 'RERANK_MAX_BODY_BYTES' } },
  );
}

/**
 * What runs before the framework's JSON body parser (Nest's express.json, mounted in main.ts) reads
 * a byte of a body: `authenticate` (every route with a body needs a key), so a caller without a
 * valid key gets 401 before its body is read; then 415 unless the body is JSON, and 413 at once for
 * a declared Content-Length over `limit`. A charset parameter is dropped: JSON is UTF-8 (RFC 8259).
 */
export function beforeBody(limit: number, authenticate: (req: ApiRequest) => void) {
  return (req: ApiRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (!WITH_BODY.has(req.method ?? '')) return next();
    const refuse = (e: ApiError) => {
      req.resume();
      sendError(res, e);
    };
    try {
      authenticate(req);
    } catch (e) {
      const api = toApiError(e);
      if (!api) return next(e);
      return refuse(api);
    }
    if (!hasBody(req)) return next();
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!isJson(type))
      return refuse(
        new ApiError(
          415,
          'unsupported_media_type',
          `Content-Type must be application/json, got ${type ? `"${type}"` : 'none'}; send the body as JSON`,
        ),
      );
    req.headers['content-type'] = type;
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > limit) return refuse(tooLarge(limit, `${length} bytes`));
    next();
  };
}

/** The JSON body parser's options: the size limit, any JSON value (validation names what is wrong), uncompressed only. */
export function jsonBodyOptions(limit: number) {
  return {
    limit,
    strict: false,
    inflate: false,
    // Content-Length 0 is no body (the parser would make it {}): validation then says nothing was sent.
    type: (req: IncomingMessage) => hasBody(req) && isJson((req.headers['content-type'] ?? '').toLowerCase()),
    // JSON text has no byte order mark (RFC 8259); the parser would drop it silently.
    verify: (_req: IncomingMessage, _res: ServerResponse, body: Buffer) => {
      if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) throw new SyntaxError('a UTF-8 byte order mark precedes it');
    },
  };
}

/** The body parser's refusals (by their `type`) as the API's errors; a client gone mid-body gets no answer. */
export function bodyParserErrors(limit: number) {
  return (err: unknown, req: ApiRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    const e = err as { type?: string; length?: number; message?: string };
    switch (e?.type) {
      case 'entity.too.large':
        return sendError(res, tooLarge(limit, e.length !== undefined ? `${e.length} bytes` : `more than ${limit} bytes`));
      case 'entity.parse.failed':
      case 'entity.verify.failed':
        return sendError(
          res,
          new ApiError(
            400,
            'invalid_json',
            `the request body is not valid JSON (${e.message}); send one JSON object with Content-Type: application/json`,
          ),
        );
      case 'encoding.unsupported':
        return sendError(
          res,
          new ApiError(
            415,
            'unsupported_media_type',
            `Content-Encoding ${req.headers['content-encoding']} is not supported; send the body uncompressed`,
          ),
        );
      case 'request.aborted':
        return void res.destroy();
      default:
        return next(err);
    }
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
