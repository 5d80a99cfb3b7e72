/**
 * Errors of the core. Validation throws ValidationError: what is wrong (field, message, kind), no
 * HTTP status; the API maps kinds to statuses in one place (apps/api/src/http.ts, toApiError).
 * ApiError is the HTTP API's one error shape, `{error: {code, message, field?, limit?}}` with the
 * answer's headers, thrown by the API's services for what only HTTP has (404, 409, 429, 503 ...).
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

/** What an ApiError says beyond status, code and message. */
export interface ApiErrorDetails {
  /** The field at fault. */
  field?: string;
  limit?: LimitInfo;
  /** Further facts in the body's `error` object (e.g. `retry_after_seconds`). */
  extra?: Record<string, unknown>;
  /** Headers of the answer (Retry-After, RateLimit-*): the one way an error's headers reach the client. */
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly field?: string;
  readonly limit?: LimitInfo;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details: ApiErrorDetails = {},
  ) {
    super(message);
    this.field = details.field;
    this.limit = details.limit;
    this.extra = details.extra ?? {};
    this.headers = details.headers ?? {};
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

/** A 503 or 429 that says when to come back: Retry-After, and `retry_after_seconds` in the body. */
export function retryLater(status: 429 | 503, code: string, message: string, seconds: number, details: ApiErrorDetails = {}): ApiError {
  return new ApiError(status, code, message, {
    ...details,
    extra: { retry_after_seconds: seconds, ...details.extra },
    headers: { ...details.headers, 'retry-after': String(seconds) },
  });
}

/**
 * What is wrong with a request:
 * - 'invalid': a field is missing or wrong;
 * - 'empty': a list or text that must have content is empty (a kind of invalid; TEI answers it apart);
 * - 'limit': a configured limit was exceeded (`limit` names it and its variable);
 * - 'too_large_for_sync': more than a synchronous request serves; submit it as a job.
 */
export type ValidationKind = 'invalid' | 'empty' | 'limit' | 'too_large_for_sync';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly kind: ValidationKind,
    /** The field at fault (`documents[3].text`); undefined for the body as a whole. */
    readonly field: string | undefined,
    /** Starts with "<field>: " when there is a field, and says what to send instead. */
    message: string,
    readonly limit?: LimitInfo,
    /** Further facts for the client (e.g. `jobs_url`). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A field is missing or wrong; the message says what to send instead. */
export function invalid(field: string, message: string): ValidationError {
  return new ValidationError('invalid', field || undefined, field ? `${field}: ${message}` : message);
}

/** A list or text that must have content is empty; the message says what to send. */
export function emptyInput(field: string, message: string): ValidationError {
  return new ValidationError('empty', field || undefined, field ? `${field}: ${message}` : message);
}

/** A configured limit was exceeded; names the limit and its variable. */
export function overLimit(field: string, what: string, limit: LimitInfo, hint = ''): ValidationError {
  return new ValidationError(
    'limit',
    field,
    `${field}: ${what} exceeds the limit of ${limit.value} ${limit.name} (${limit.env})${hint ? `; ${hint}` : ''}`,
    limit,
  );
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'not_found', message);
}
