import { ApiError, ValidationError } from '@rerank/jobs';

/**
 * An error in Hugging Face TEI's shape, `{error, error_type}`, with TEI's status codes:
 * validation 413, empty input 400, tokenizer 422, overloaded 429, backend 424, unhealthy 503.
 */
export class TeiError extends ApiError {
  constructor(
    status: number,
    readonly errorType: 'validation' | 'empty' | 'tokenizer' | 'overloaded' | 'backend' | 'unhealthy',
    message: string,
    /** The headers of the error it stands for (Retry-After, RateLimit-*). */
    headers: Record<string, string> = {},
  ) {
    super(status, `tei_${errorType}`, message, { headers });
  }

  teiBody(): { error: string; error_type: string } {
    return { error: this.message, error_type: this.errorType };
  }

  /** Our error (from validation or scoring) as TEI reports that kind of failure; null for an error of no known kind (a bug). */
  static from(thrown: unknown): TeiError | null {
    if (thrown instanceof TeiError) return thrown;
    if (thrown instanceof ValidationError)
      return thrown.kind === 'empty' ? new TeiError(400, 'empty', thrown.message) : new TeiError(413, 'validation', thrown.message);
    if (!(thrown instanceof ApiError)) return null;
    const { status, message, headers } = thrown;
    if (status === 400 || status === 413) return new TeiError(413, 'validation', message, headers);
    if (status === 429) return new TeiError(429, 'overloaded', message, headers);
    if (status === 503 || status === 504) return new TeiError(503, 'unhealthy', message, headers);
    if (status >= 500) return new TeiError(424, 'backend', message, headers);
    return new TeiError(status, 'validation', message, headers);
  }
}
