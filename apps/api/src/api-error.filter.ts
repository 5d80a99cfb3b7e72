import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { ApiError, isRedisUnavailable } from '@rerank/jobs';
import { type ApiRequest, sendError, toApiError } from './http';

const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'limit_exceeded',
  415: 'unsupported_media_type',
};

/** Every error leaves the API as {error: {code, message, field?}}; core errors get their status in toApiError (http.ts). */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<ServerResponse>();
    const req = http.getRequest<ApiRequest>();
    const known = toApiError(exception);
    if (known) return sendError(res, known);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message =
        status === 404
          ? `no route ${req.method} ${(req.url ?? '').split('?')[0]}; the API is described at /docs (OpenAPI JSON at /openapi.json)`
          : exception.message;
      return sendError(res, new ApiError(status, CODES[status] ?? 'error', message));
    }
    const err = exception as Error;
    if (isRedisUnavailable(err)) {
      this.log.warn(`${req.method} ${req.url}: Redis unavailable: ${err.message}`);
      return sendError(res, new ApiError(503, 'unavailable', 'the job store (Redis) is unreachable; nothing was done, retry later'));
    }
    this.log.error(`${req.method} ${req.url}: ${err?.stack ?? String(exception)}`);
    sendError(res, new ApiError(500, 'internal', 'internal error; the server log has the details'));
  }
}
