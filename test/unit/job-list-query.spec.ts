/** The query string of GET /v1/jobs (pure): every parameter read, every problem named. */
import { encodeJobCursor, validateJobListQuery, ValidationError } from '@rerank/jobs';

describe('the query string of GET /v1/jobs', () => {
  const parse = (qs: string) => validateJobListQuery(new URLSearchParams(qs));
  const refused = (qs: string): { field: string | undefined; message: string } => {
    try {
      parse(qs);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const v = e as ValidationError;
      expect(v.kind).toBe('invalid');
      if (v.field) expect(v.message.startsWith(`${v.field}: `)).toBe(true);
      return { field: v.field, message: v.message };
    }
    throw new Error(`${qs} was accepted`);
  };

  it('reads every parameter', () => {
    expect(parse('')).toEqual({ limit: 20 });
    const cursor = encodeJobCursor({ createdAt: 1735732800000, id: 'job_01' });
    expect(cursor).toBe('MTczNTczMjgwMDAwMC5qb2JfMDE');
    expect(
      parse(
        `limit=100&cursor=${cursor}&status=completed,failed,completed&created_after=2025-01-01T00:00:00Z&created_before=2025-01-01T01:00:00.5%2B01:00`,
      ),
    ).toEqual({
      limit: 100,
      cursor: { createdAt: 1735732800000, id: 'job_01' },
      statuses: ['completed', 'failed'],
      createdAfter: Date.UTC(2025, 0, 1),
      createdBefore: Date.UTC(2025, 0, 1) + 500,
    });
    expect(parse('limit=1')).toEqual({ limit: 1 });
  });

  it.each([
    ['limit=0', 'limit', /^limit: expected an integer from 1 to 100, got "0"/],
    ['limit=101', 'limit', /from 1 to 100, got "101"/],
    ['limit=2.5', 'limit', /got "2.5"/],
    ['limit=', 'limit', /got ""/],
    ['limit=-1', 'limit', /got "-1"/],
    ['cursor=abc', 'cursor', /^cursor: not a cursor of this API; send next_cursor/],
    [`cursor=${Buffer.from('12.not-a-job').toString('base64url')}`, 'cursor', /not a cursor/],
    ['cursor=%2F%2F%2F', 'cursor', /not a cursor/],
    [
      'status=done',
      'status',
      /^status: expected one or more of queued, running, completed, failed, cancelled \(comma separated\), got "done"/,
    ],
    ['status=completed,', 'status', /got ""/],
    ['status=COMPLETED', 'status', /got "COMPLETED"/],
    [
      'created_after=yesterday',
      'created_after',
      /^created_after: expected an RFC 3339 date-time such as 2025-01-01T12:00:00Z, got "yesterday"/,
    ],
    ['created_after=1735732800', 'created_after', /got "1735732800"/],
    ['created_before=2025-02-30T00:00:00', 'created_before', /RFC 3339/],
    ['created_before=2025-02-29T00:00:00Z', 'created_before', /RFC 3339.*got "2025-02-29T00:00:00Z"/],
    ['created_before=2025-01-01T24:00:00Z', 'created_before', /RFC 3339/],
    ['created_before=2025-01-01T00:00:00%2B24:00', 'created_before', /RFC 3339/],
    [
      'created_after=2025-01-02T00:00:00Z&created_before=2025-01-01T00:00:00Z',
      'created_before',
      /^created_before: must be later than created_after/,
    ],
    ['created_after=2025-01-01T00:00:00Z&created_before=2025-01-01T00:00:00Z', 'created_before', /must be later/],
    ['page=2', 'page', /^page: unknown query parameter; GET \/v1\/jobs takes limit, cursor, status, created_after, created_before/],
    ['owner=bob', 'owner', /unknown query parameter/],
    ['status=queued&status=running', 'status', /^status: given more than once; send it once \(several statuses: status=completed,failed\)/],
    ['limit[]=5', 'limit[]', /unknown query parameter/],
  ])('refuses %s naming %s', (qs, field, message) => {
    const r = refused(qs);
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });
});
