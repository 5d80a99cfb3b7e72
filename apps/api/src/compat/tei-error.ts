import { ApiError } from '@rerank/jobs';

/**
 * An error in Hugging Face TEI's shape, `{error, error_type}`, with TEI's status codes:
 * validation 413, empty input 400, tokenizer 422, overloaded 429, backend 424, unhealthy 503.
 */
export class TeiError extends ApiError {
  constructor(
    status: number,
    readonly errorType: 'validation' | 'empty' | 'tokenizer' | 'overloaded' | 'backend' | 'unhealthy',
    message: string,
  ) {
    super(status, `tei_${errorType}`, message);
  }

  teiBody(): { error: string; error_type: string } {
    return { error: this.message, error_type: this.errorType };
  }

  /** Our error (from validation or scoring) as TEI reports that kind of failure. */
  static from(e: ApiError): TeiError {
    if (e instanceof TeiError) return e;
    if (e.status === 400 && /must not be empty|the list is empty/.test(e.message)) return new TeiError(400, 'empty', e.message);
    if (e.status === 400 || e.status === 413) return new TeiError(413, 'validation', e.message);
    if (e.status === 429) return new TeiError(429, 'overloaded', e.message);
    if (e.status === 503 || e.status === 504) return new TeiError(503, 'unhealthy', e.message);
    if (e.status >= 500) return new TeiError(424, 'backend', e.message);
    return new TeiError(e.status, 'validation', e.message);
  }
}
