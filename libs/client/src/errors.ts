import type { ErrorBody } from './types';

/** The API answered with an error status; `code`, `field` and `message` are the server's. */
export class RerankApiError extends Error {
  override readonly name = 'RerankApiError';
  readonly code: string;
  readonly field: string | undefined;

  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
    readonly retryAfterSeconds: number | undefined,
    what: string,
  ) {
    const e = body?.error;
    super(`${what}: ${status} ${e?.code ?? 'error'}: ${e?.message ?? 'no error body'}`);
    this.code = e?.code ?? 'http_error';
    this.field = e?.field;
  }
}

/** The server could not be reached (refused, reset, DNS) or answered something that is not the API. */
export class RerankConnectionError extends Error {
  override readonly name = 'RerankConnectionError';
}

/** `waitForJob` gave up before the job ended. */
export class RerankTimeoutError extends Error {
  override readonly name = 'RerankTimeoutError';
}
