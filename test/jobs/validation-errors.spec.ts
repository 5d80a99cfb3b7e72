/**
 * Validation in the core reports typed errors (kind, field, message, limit) and knows nothing of
 * HTTP; the engine's option contract drives both the engine's and the API's checks.
 */
import { API_ENGINE_OPTIONS, ENGINE_OPTIONS, FlagReranker, type RerankerOptions } from '@rerank/engine';
import { loadConfig, validateJobRequest, validateRerankRequest, type ValidationContext, ValidationError } from '@rerank/jobs';

const config = loadConfig({ RERANK_MODELS: 'tiny=/models/tiny', RERANK_SYNC_MAX_DOCUMENTS: '3', RERANK_MAX_QUERIES: '2' });
const ctx: ValidationContext = { limits: config.limits, models: [{ name: 'tiny', family: 'encoder' }] };

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('typed validation errors', () => {
  test('a wrong field: kind invalid, the field, a message starting with it, no HTTP status', () => {
    const e = refusal(() => validateJobRequest({ query: 'q', documents: ['a'], batch_size: 0 }, ctx));
    expect(e.kind).toBe('invalid');
    expect(e.field).toBe('batch_size');
    expect(e.message).toBe('batch_size: expected an integer from 1 to 4096, got a number (0)');
    expect('status' in e).toBe(false);
  });

  test('a configured limit: kind limit, with the limit and its variable', () => {
    const e = refusal(() => validateJobRequest({ queries: ['a', 'b', 'c'], documents: ['d'] }, ctx));
    expect(e.kind).toBe('limit');
    expect(e.field).toBe('queries');
    expect(e.limit).toEqual({ name: 'queries per job', value: 2, env: 'RERANK_MAX_QUERIES' });
    expect(e.message).toMatch(/^queries: 3 queries exceeds the limit of 2 queries per job \(RERANK_MAX_QUERIES\)/);
  });

  test('more documents than a synchronous request serves: kind too_large_for_sync, pointing to /v1/jobs', () => {
    const e = refusal(() => validateRerankRequest({ query: 'q', documents: ['a', 'b', 'c', 'd'] }, ctx, 2));
    expect(e.kind).toBe('too_large_for_sync');
    expect(e.field).toBe('documents');
    expect(e.extra).toEqual({ jobs_url: '/v1/jobs' });
    expect(e.message).toMatch(/^documents: 4 documents exceed the synchronous limit of 3 \(RERANK_SYNC_MAX_DOCUMENTS\)/);
  });

  test('text options: the contract says "at most N characters" and the instruction format is parsed', () => {
    expect(
      refusal(() => validateJobRequest({ query: 'q', documents: ['a'], query_instruction_for_rerank: 'x'.repeat(10001) }, ctx)).message,
    ).toBe('query_instruction_for_rerank: at most 10000 characters, got 10001');
    expect(
      refusal(() =>
        validateJobRequest(
          { query: 'q', documents: ['a'], compress_ratio: 3 },
          { ...ctx, models: [{ name: 'tiny', family: 'lightweight' }] },
        ),
      ).message,
    ).toBe('compress_ratio: expected one of 1, 2, 4, 8, got a number (3)');
    expect(refusal(() => validateJobRequest({ query: 'q', documents: ['a'], passage_instruction_format: '{' }, ctx)).field).toBe(
      'passage_instruction_format',
    );
  });
});

describe('one declaration per engine option', () => {
  test('the API takes the per-call options, snake_case, with bounds inside the engine’s', () => {
    expect(API_ENGINE_OPTIONS.map((o) => o.field)).toEqual([
      'query_instruction_for_rerank',
      'query_instruction_format',
      'passage_instruction_for_rerank',
      'passage_instruction_format',
      'batch_size',
      'query_max_length',
      'max_length',
      'normalize',
      'max_batch_tokens',
      'prompt',
      'truncation',
      'instruction',
      'prompt_template',
      'cutoff_layers',
      'compress_layers',
      'compress_ratio',
    ]);
    for (const o of API_ENGINE_OPTIONS) {
      expect([o.field, ENGINE_OPTIONS[o.engine].scope]).toEqual([o.field, 'call']);
      // Whatever the API accepts, the engine accepts.
      const probes = [
        0,
        1,
        16,
        4096,
        131072,
        null,
        true,
        'x',
        '{}{}',
        [1],
        2,
        8,
        'longest_first',
        { prefix: '', format: '{query}{document}', suffix: '' },
      ];
      for (const v of probes)
        if (o.check.schema.safeParse(v).success)
          expect([o.field, v, ENGINE_OPTIONS[o.engine].field.schema.safeParse(v).success]).toEqual([o.field, v, true]);
    }
  });

  test("the engine's checks come from the same declarations (its own wording)", () => {
    expect(() => new FlagReranker('/nowhere', { batchSize: 0 })).toThrow(/^batchSize: must be a positive integer, got 0$/);
    expect(() => new FlagReranker('/nowhere', { queryMaxLength: -1 })).toThrow(/^queryMaxLength: must be an integer >= 0 or null, got -1$/);
    expect(() => new FlagReranker('/nowhere', { sessionOptions: [] as unknown as Record<string, unknown> })).toThrow(
      /^sessionOptions: must be an object of onnxruntime session options, got \[\]$/,
    );
    expect(() => new FlagReranker('/nowhere', { cacheDir: 5 } as unknown as RerankerOptions)).toThrow(
      /^cacheDir: must be a string or null, got 5$/,
    );
  });
});
