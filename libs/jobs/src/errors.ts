/**
 * The one error shape of the HTTP API: `{error: {code, message, field?, limit?}}`. Validation and
 * services throw ApiError; the API's exception filter writes it as is.
 */

export interface LimitInfo {
  /** The limit's name in messages (e.g. "documents per job"). */
  name: string;
  value: number;
  /** The environment variable that sets it. */
  env: string;
}

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    limit?: LimitInfo;
    [extra: string]: unknown;
  };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly limit?: LimitInfo,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toBody(): ApiErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field !== undefined ? { field: this.field } : {}),
        ...(this.limit ? { limit: this.limit } : {}),
        ...this.extra,
      },
    };
  }
}

/** 400: a field is missing or wrong; the message says what to send instead. */
export function invalid(field: string, message: string): ApiError {
  return new ApiError(400, 'invalid_request', field ? `${field}: ${message}` : message, field || undefined);
}

/** 413: a configured limit was exceeded; names the limit and its variable. */
export function overLimit(field: string, what: string, limit: LimitInfo, hint = ''): ApiError {
  return new ApiError(
    413,
    'limit_exceeded',
    `${field}: ${what} exceeds the limit of ${limit.value} ${limit.name} (${limit.env})${hint ? `; ${hint}` : ''}`,
    field,
    limit,
  );
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'not_found', message);
}
