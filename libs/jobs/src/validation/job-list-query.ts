/**
 * The query string of `GET /v1/jobs` (the caller's jobs, newest first): `limit`, `cursor`, `status`,
 * `created_after`, `created_before`. Every problem is a ValidationError naming the parameter; an
 * unknown or repeated parameter is refused rather than ignored, so a typo never widens a listing.
 */
import { invalid } from '../errors';
import type { JobStatus } from '../queues';

export const JOB_LIST_DEFAULT_LIMIT = 20;
export const JOB_LIST_MAX_LIMIT = 100;
/** Every status, in a job's order (what `status` accepts). */
export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export const JOB_LIST_PARAMS = ['limit', 'cursor', 'status', 'created_after', 'created_before'] as const;

/** A position in a tenant's listing: the last job of the previous page. */
export interface JobCursor {
  createdAt: number;
  id: string;
}

export interface JobListQuery {
  limit: number;
  /** Jobs after this one in the listing's order (newer pages came before). */
  cursor?: JobCursor;
  /** Only jobs in one of these statuses (absent: any). */
  statuses?: JobStatus[];
  /** Created strictly after / before these times (ms since the epoch). */
  createdAfter?: number;
  createdBefore?: number;
}

const JOB_ID = /^job_[A-Za-z0-9_-]{1,64}$/;
/** RFC 3339 date-times as ISO 8601 writes them: 2025-01-01T12:00:00Z, with optional fraction and offset. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The opaque `next_cursor` of a page: base64url of "<created ms>.<job id>". */
export function encodeJobCursor(c: JobCursor): string {
  return Buffer.from(`${c.createdAt}.${c.id}`, 'utf8').toString('base64url');
}

export function decodeJobCursor(text: string): JobCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  const m = /^(\d{1,15})\.(.+)$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m || !JOB_ID.test(m[2])) return null;
  return { createdAt: Number(m[1]), id: m[2] };
}

/** Date.parse rolls 2025-02-30 over into March: the calendar fields are checked first. */
function realDateTime(raw: string): boolean {
  if (!DATE_TIME.test(raw)) return false;
  const [y, mo, d, h, mi, se] = raw.slice(0, 19).split(/[-T:]/).map(Number);
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(raw);
  if (offset && (Number(offset[2]) > 23 || Number(offset[3]) > 59)) return false;
  return mo >= 1 && mo <= 12 && d >= 1 && d === new Date(Date.UTC(y, mo - 1, d)).getUTCDate() && h < 24 && mi < 60 && se < 60;
}

function parseTime(name: string, raw: string): number {
  const ms = realDateTime(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms))
    throw invalid(name, `expected an RFC 3339 date-time such as 2025-01-01T12:00:00Z, got ${JSON.stringify(raw.slice(0, 60))}`);
  return ms;
}

/** Checks the query string of GET /v1/jobs. */
export function validateJobListQuery(params: URLSearchParams): JobListQuery {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!(JOB_LIST_PARAMS as readonly string[]).includes(name)) {
      throw invalid(
        name.slice(0, 60) || '(unnamed parameter)',
        `unknown query parameter; GET /v1/jobs takes ${JOB_LIST_PARAMS.join(', ')}`,
      );
    }
    if (seen.has(name)) throw invalid(name, 'given more than once; send it once (several statuses: status=completed,failed)');
    seen.add(name);
  }
  const query: JobListQuery = { limit: JOB_LIST_DEFAULT_LIMIT };

  const limit = params.get('limit');
  if (limit !== null) {
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > JOB_LIST_MAX_LIMIT) {
      throw invalid('limit', `expected an integer from 1 to ${JOB_LIST_MAX_LIMIT}, got ${JSON.stringify(limit.slice(0, 60))}`);
    }
    query.limit = Number(limit);
  }

  const cursor = params.get('cursor');
  if (cursor !== null) {
    const decoded = decodeJobCursor(cursor);
    if (!decoded)
      throw invalid(
        'cursor',
        'not a cursor of this API; send next_cursor of the previous page as it was given, or omit it for the first page',
      );
    query.cursor = decoded;
  }

  const status = params.get('status');
  if (status !== null) {
    const list = status.split(',').map((s) => s.trim());
    for (const s of list) {
      if (!(JOB_STATUSES as readonly string[]).includes(s)) {
        throw invalid(
          'status',
          `expected one or more of ${JOB_STATUSES.join(', ')} (comma separated), got ${JSON.stringify(s.slice(0, 60))}`,
        );
      }
    }
    query.statuses = [...new Set(list)] as JobStatus[];
  }

  const after = params.get('created_after');
  if (after !== null) query.createdAfter = parseTime('created_after', after);
  const before = params.get('created_before');
  if (before !== null) query.createdBefore = parseTime('created_before', before);
  if (query.createdAfter !== undefined && query.createdBefore !== undefined && query.createdAfter >= query.createdBefore) {
    throw invalid('created_before', `must be later than created_after (${after}), got ${before}`);
  }
  return query;
}
