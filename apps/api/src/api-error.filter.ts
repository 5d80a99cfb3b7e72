import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '@rerank/jobs';
import { storeRefusal } from './backpressure';
import { sendError, toApiError } from './http';

const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'limit_exceeded',
  415: 'unsupported_media_type',
};

const log = new Logger('http');

/** Any error as the API answers it: ours with their status (toApiError), Nest's, Redis outages and refusals as 503, the rest 500 (logged). */
export function errorAnswer(exception: unknown, req: Pick<IncomingMessage, 'method' | 'url'>): ApiError {
  const known = toApiError(exception);
  if (known) return known;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const message =
      status === 404
        ? `no route ${req.method} ${(req.url ?? '').split('?')[0]}; the API is described at /docs (OpenAPI JSON at /openapi.json)`
        : exception.message;
    return new ApiError(status, CODES[status] ?? 'error', message);
  }
  const err = exception as Error;
  const refusal = storeRefusal(err, 'unavailable');
  if (refusal) {
    log.warn(`${req.method} ${req.url}: Redis cannot take the command: ${err.message}`);
    return refusal;
  }
  log.error(`${req.method} ${req.url}: ${err?.stack ?? String(exception)}`);
  return new ApiError(500, 'internal', 'internal error; the server log has the details');
}

/** Every error leaves the API as {error: {code, message, field?}} with its headers (sendError). */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(http.getResponse<ServerResponse>(), errorAnswer(exception, http.getRequest<IncomingMessage>()));
  }
}
