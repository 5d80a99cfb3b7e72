/** Shard failures as codes (the queue adapter's encoding of a failedReason) and TEI's error kinds, without message text. */
import { decodeFailure, encodeFailure, SHARD_FAILURE_CODES, validateTeiRerank, ValidationError } from '@rerank/jobs';
import { TeiError } from '../../apps/api/src/compat/tei-error';
import { unitConfig } from './fakes';

it('a failure reason carries its code and the message whole; a reason the queue wrote itself is "queue"', () => {
  for (const code of SHARD_FAILURE_CODES)
    expect(decodeFailure(encodeFailure(code, 'pair 3: max: bad: value'))).toEqual({ code, message: 'pair 3: max: bad: value' });
  expect(decodeFailure('job stalled more than allowable limit')).toEqual({
    code: 'queue',
    message: 'job stalled more than allowable limit',
  });
  expect(decodeFailure('scoring: failed')).toEqual({ code: 'queue', message: 'scoring: failed' });
});

it("TEI's empty-input kind comes from the validation error's kind, not its message", () => {
  const ctx = { limits: unitConfig().limits, models: [{ name: 'enc', family: 'encoder' as const }] };
  const refused = (body: unknown) => {
    try {
      validateTeiRerank(body, ctx);
    } catch (e) {
      return e;
    }
    throw new Error('accepted');
  };
  const noTexts = refused({ query: 'q', texts: [] });
  expect([(noTexts as ValidationError).kind, TeiError.from(noTexts)?.teiBody().error_type, TeiError.from(noTexts)?.status]).toEqual([
    'empty',
    'empty',
    400,
  ]);
  const blankQuery = refused({ query: '  ', texts: ['a'] });
  expect([(blankQuery as ValidationError).kind, TeiError.from(blankQuery)?.teiBody().error_type]).toEqual(['empty', 'empty']);
  const wrongType = refused({ query: 'q', texts: 'a' });
  expect([(wrongType as ValidationError).kind, TeiError.from(wrongType)?.teiBody().error_type, TeiError.from(wrongType)?.status]).toEqual([
    'invalid',
    'validation',
    413,
  ]);
  expect(TeiError.from(new Error('a bug'))).toBeNull();
});
