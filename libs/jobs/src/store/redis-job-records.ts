/** JobRecords on Redis: the job hash, its layout and document ids, status transitions (Lua, atomic) and expiry. */
import type { Redis } from 'ioredis';
import type { JobLayout } from '../job-layout';
import type { JobStatus, TerminalStatus } from '../queues';
import type { JobRecord, JobRecords, ListedJob, NewJob, ShardContext } from '../ports/job-store';
import type { ItemId } from '../validation/documents';
import { exec, JOB_FIELDS as F, type JobHash, json, PENDING_TTL_SECONDS, sumProgress } from './job-hash';
import { jobKeys, keys } from './keys';
import { runScript } from './scripts';

/** Newest jobs per tenant kept in the listing index (RERANK_JOB_LIST_MAX). */
export const DEFAULT_TENANT_INDEX_MAX = 10000;

export class RedisJobRecords implements JobRecords {
  constructor(
    private readonly redis: Redis,
    private readonly hash: JobHash,
    /** RERANK_JOB_LIST_MAX: newest jobs per tenant kept in the listing index (older ones drop out of GET /v1/jobs). */
    private readonly tenantIndexMax = DEFAULT_TENANT_INDEX_MAX,
  ) {}

  /** One round trip: the job's keys, pending (not listed; `activate` lists it). */
  async create(n: NewJob): Promise<void> {
    const { job, id } = n;
    const fields: Record<string, string | number> = {
      [F.id]: id,
      [F.tenant]: n.tenant,
      [F.status]: 'queued',
      [F.model]: job.model,
      [F.createdAt]: n.createdAt,
      [F.queries]: job.queries.length,
      [F.documents]: job.sets.reduce((count, set) => count + set.count, 0),
      [F.pairs]: job.pairs,
      [F.shardsTotal]: n.shardsTotal,
      [F.topK]: job.topK,
      [F.returnDocuments]: job.returnDocuments ? 1 : 0,
      [F.options]: JSON.stringify(job.options),
      [F.metadata]: job.metadata ? JSON.stringify(job.metadata) : '',
      [F.baseUrl]: n.baseUrl,
      [F.requestHash]: n.requestHash,
      [F.pending]: 1,
    };
    if (n.requestId) fields[F.requestId] = n.requestId;
    if (job.webhook) {
      fields[F.webhookUrl] = job.webhook.url;
      fields[F.webhookSecret] = job.webhook.secret ? this.hash.seal(job.webhook.secret, id) : '';
      fields[F.webhookState] = 'pending';
      fields[F.webhookAttempts] = 0;
    }
    const p = this.redis.multi();
    p.hset(keys.job(id), fields);
    p.set(keys.layout(id), JSON.stringify({ queries: job.queries, sets: job.sets }));
    if (job.documentIds) p.set(keys.docIds(id), JSON.stringify(job.documentIds));
    for (const k of [keys.job(id), keys.layout(id), keys.docIds(id)]) p.expire(k, PENDING_TTL_SECONDS);
    await exec(p);
  }

  /** One script on the job's keys, then the tenant's listing index (another hash slot in a Redis Cluster). */
  async activate(id: string): Promise<void> {
    const found = (await runScript(this.redis, 'activate', [keys.job(id), keys.layout(id), keys.docIds(id)], [])) as
      [string, string] | null;
    if (!found) return;
    const [tenant, createdAt] = found;
    // The listing index, bounded to its newest entries (ids of expired jobs go when a listing meets them).
    await exec(
      this.redis
        .multi()
        .zadd(keys.ownerJobs(tenant), createdAt, id)
        .zremrangebyrank(keys.ownerJobs(tenant), 0, -(this.tenantIndexMax + 1)),
    );
  }

  /** Two commands: the tenant's index is in another slot than the job's keys in a Redis Cluster. */
  async discard(id: string, tenant: string): Promise<void> {
    await this.redis.del(...jobKeys(id));
    await this.redis.zrem(keys.ownerJobs(tenant), id);
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.hash.toRecord(await this.redis.hgetall(keys.job(id)));
  }

  /** One round trip: the job and its progress share the job's hash slot. */
  async getWithProgress(id: string): Promise<ListedJob | null> {
    const replies = await this.redis.pipeline().hgetall(keys.job(id)).hvals(keys.progress(id)).exec();
    const [[jobError, fields], [progressError, values]] = replies as [[Error | null, Record<string, string>], [Error | null, string[]]];
    const error = jobError ?? progressError;
    if (error) throw error;
    const record = this.hash.toRecord(fields);
    return record ? { record, progress: sumProgress(values) } : null;
  }

  async status(id: string): Promise<JobStatus | null> {
    return (await this.redis.hget(keys.job(id), F.status)) as JobStatus | null;
  }

  async shardContext(id: string): Promise<ShardContext | null> {
    const [layout, fields] = (await exec(
      this.redis.pipeline().get(keys.layout(id)).hmget(keys.job(id), F.options, F.topK, F.returnDocuments, F.requestId),
    )) as [string | null, (string | null)[]];
    if (!layout || fields[1] === null) return null;
    return {
      layout: JSON.parse(layout) as JobLayout,
      options: json(fields[0], {}),
      topK: Number(fields[1]),
      returnDocuments: fields[2] === '1',
      requestId: fields[3] ?? '',
    };
  }

  async layout(id: string): Promise<JobLayout | null> {
    return json(await this.redis.get(keys.layout(id)), null);
  }

  async documentIds(id: string): Promise<(ItemId | null)[] | null> {
    return json(await this.redis.get(keys.docIds(id)), null);
  }

  async finish(id: string, status: TerminalStatus, error?: { code: string; message: string }, now = Date.now()): Promise<boolean | null> {
    const args: (string | number)[] = [status, F.finishedAt, now];
    if (error) args.push(F.error, error.message, F.errorCode, error.code);
    const r = (await runScript(this.redis, 'finish', [keys.job(id), keys.events(id)], args)) as number;
    return r === -1 ? null : r === 1;
  }

  async expire(id: string, ttlSeconds: number): Promise<void> {
    const p = this.redis.multi();
    for (const k of jobKeys(id)) p.expire(k, ttlSeconds);
    await exec(p);
  }
}
