/** JobListing on Redis: each tenant's jobs in a sorted set by creation time (keys.ownerJobs), read in batches. */
import type { Redis } from 'ioredis';
import type { JobListing, JobListPage, ListedJob } from '../ports/job-store';
import type { JobListQuery } from '../validation/job-list-query';
import { type JobHash, sumProgress } from './job-hash';
import { keys } from './keys';

/** Index entries read per round trip while listing (more with a status filter, which skips entries). */
const LIST_BATCH = 100;
const LIST_FILTERED_BATCH = 250;

export class RedisJobListing implements JobListing {
  constructor(
    private readonly redis: Redis,
    private readonly hash: JobHash,
  ) {}

  /**
   * A page of `tenant`'s jobs, newest first (same creation time: larger id first), with their progress.
   * Reads the tenant's index in batches, each batch's hashes and progress sent together, until the
   * page is full or the index is exhausted; ids whose job hash has expired are removed from the index.
   */
  async listOwned(tenant: string, q: JobListQuery): Promise<JobListPage> {
    const index = keys.ownerJobs(tenant);
    // Scores are creation times: created_before and created_after are exclusive bounds, the cursor an inclusive one.
    let max = q.createdBefore !== undefined ? `(${q.createdBefore}` : '+inf';
    if (q.cursor && (q.createdBefore === undefined || q.cursor.createdAt < q.createdBefore)) max = String(q.cursor.createdAt);
    const min = q.createdAfter !== undefined ? `(${q.createdAfter}` : '-inf';
    const batch = q.statuses ? LIST_FILTERED_BATCH : Math.max(q.limit + 1, LIST_BATCH);
    const found: ListedJob[] = [];
    const seen = new Set<string>();
    const gone: string[] = [];
    let more = false;
    for (let offset = 0; ; offset += batch) {
      const flat = await this.redis.zrevrangebyscore(index, max, min, 'WITHSCORES', 'LIMIT', offset, batch);
      const entries: { id: string; createdAt: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const entry = { id: flat[i], createdAt: Number(flat[i + 1]) };
        // Equal times come in reverse id order: those at the cursor's time with an id not below it were on earlier pages.
        if (q.cursor && entry.createdAt === q.cursor.createdAt && entry.id >= q.cursor.id) continue;
        // A job added while we read shifts later offsets by one: never list one twice.
        if (seen.has(entry.id)) continue;
        seen.add(entry.id);
        entries.push(entry);
      }
      if (entries.length > 0) {
        // Separate commands sent together, not one pipeline: each job is in its own slot in a Redis Cluster.
        const replies = await Promise.all(
          entries.flatMap((e) => [this.redis.hgetall(keys.job(e.id)), this.redis.hvals(keys.progress(e.id))]),
        );
        for (let i = 0; i < entries.length; i++) {
          const record = this.hash.toRecord(replies[2 * i] as Record<string, string>);
          if (!record || record.tenant !== tenant) {
            gone.push(entries[i].id);
            continue;
          }
          if (q.statuses && !q.statuses.includes(record.status)) continue;
          if (found.length === q.limit) {
            more = true;
            break;
          }
          found.push({ record, progress: sumProgress(replies[2 * i + 1] as string[]) });
        }
      }
      if (more || flat.length < 2 * batch) break;
    }
    if (gone.length > 0) await this.redis.zrem(index, ...gone);
    const last = found[found.length - 1];
    return { jobs: found, next: more && last ? { createdAt: last.record.createdAt, id: last.record.id } : null };
  }
}
