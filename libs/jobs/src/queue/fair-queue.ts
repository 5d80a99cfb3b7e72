/**
 * The Redis side of fair shard tags (shard-priority.ts computes them): each tenant's waiting shards
 * of a model's queue are kept in a hash (keys.fairShards); when the tenant adds a job, its waiting
 * shards and the new job's are tagged again as one sequence, under a short per-(queue, tenant) lock
 * so two API replicas adding jobs for one tenant never tag from the same stale snapshot. Re-tagging
 * moves a shard inside BullMQ's prioritized set the way BullMQ's own changePriority does (a Lua
 * script over its layout, bull-internals.ts: score = priority × 2^32 + arrival counter), in one
 * script for all of them; a shard a worker took meanwhile is skipped.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseShardJobId, shardJobId } from '../queues';
import type { Schedule } from '../schedule';
import type { ShardPlan } from '../sharding';
import { keys } from '../store/keys';
import { runScript } from '../store/scripts';
import { prioritizedKeys } from './bull-internals';
import { creditUnits, type FairShard, newcomerStart, shardCost, tagAt, tenantTags, virtualTime } from './shard-priority';
/** How long a tenant's hash of waiting shards lives after its last job was added. */
const FAIR_TTL_SECONDS = 86400;
/** A re-tagging holds its tenant's lock at most this long (a replica that died frees it by then). */
const LOCK_MS = 5000;

/** What a new job brings to its tenant's sequence. */
export interface FairJob {
  jobId: string;
  /** Its tenant and weight. */
  schedule: Schedule;
  shards: readonly ShardPlan[];
}

/** A shard's entry in its tenant's hash: `cost factor queuedAt`. */
const entry = (s: Pick<FairShard, 'cost' | 'factor' | 'queuedAt'>) => `${s.cost} ${s.factor} ${s.queuedAt}`;

/** A tenant's waiting shard from the hash (id `<job>-s<n>`), or null for an entry it cannot read. */
function parseEntry(id: string, value: string): FairShard | null {
  const shard = parseShardJobId(id);
  const [cost, factor, queuedAt] = value.split(' ').map(Number);
  if (!shard || ![cost, factor, queuedAt].every(Number.isFinite)) return null;
  return { id, job: shard.jobId, n: shard.n, cost, factor, queuedAt };
}

export class FairShardTags {
  constructor(
    private readonly redis: Redis,
    /** Gives up waiting for a tenant's lock after this long (the API's Redis command timeout). */
    private readonly lockWaitMs: number,
  ) {}

  /**
   * Tags a new job's shards and re-tags its tenant's waiting ones, then `add`s the job with its
   * shards' priorities (priorities[n] for shard n) while the tenant's lock is held. `creditChars`:
   * the fairness credit in characters (what the model's devices score in TENANT_CREDIT_MS).
   */
  async addJob(queue: Queue, job: FairJob, creditChars: number, add: (priorities: number[]) => Promise<void>): Promise<void> {
    const { tenant } = job.schedule;
    const hash = keys.fairShards(queue.name, tenant);
    const lock = keys.fairLock(queue.name, tenant);
    const token = await this.lock(lock, `${queue.name} of tenant ${tenant}`);
    try {
      const bull = prioritizedKeys(queue);
      const reply = (await runScript(this.redis, 'fair-waiting', [hash, bull.prioritized], [])) as (string | number)[];
      const head = Number(reply[0]);
      const finish = Number(reply[1]);
      const waiting: FairShard[] = [];
      const current = new Map<string, number>();
      let tenantHead = Infinity;
      for (let i = 2; i + 2 < reply.length; i += 3) {
        const s = parseEntry(String(reply[i]), String(reply[i + 1]));
        if (!s) continue;
        const priority = Number(reply[i + 2]);
        waiting.push(s);
        current.set(s.id, priority);
        tenantHead = Math.min(tenantHead, priority);
      }
      // A tenant with shards waiting keeps its place; a tenant without starts near the queue's head.
      const queueHead = head < 0 ? null : head;
      const start =
        waiting.length > 0
          ? Math.max(virtualTime(queueHead), tenantHead)
          : newcomerStart(queueHead, finish < 0 ? null : finish, creditUnits(creditChars));
      const queuedAt = Date.now();
      const factor = 1 / job.schedule.weight;
      const fresh: FairShard[] = job.shards.map((s, n) => ({
        id: shardJobId(job.jobId, n),
        job: job.jobId,
        n,
        cost: shardCost(s.chars),
        factor,
        queuedAt,
      }));
      const tags = tenantTags([...waiting, ...fresh], start);
      const byId = new Map(tags.map((t) => [t.id, t.tag]));
      await add(fresh.map((s) => byId.get(s.id) as number));
      const moves = tags.filter((t) => current.has(t.id) && current.get(t.id) !== t.tag);
      const total = [...waiting, ...fresh].reduce((sum, s) => sum + s.cost, 0);
      const args: (string | number)[] = [bull.jobPrefix, FAIR_TTL_SECONDS, tagAt(start, total), moves.length];
      for (const t of moves) args.push(t.id, t.tag);
      for (const s of fresh) args.push(s.id, entry(s));
      await runScript(this.redis, 'fair-retag', [hash, bull.prioritized, bull.counter], args);
    } finally {
      await runScript(this.redis, 'fair-unlock', [lock], [token]).catch(() => undefined);
    }
  }

  /** Takes a tenant's lock (SET NX PX), waiting for another replica's re-tagging to end. */
  private async lock(key: string, what: string): Promise<string> {
    const token = randomUUID();
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      if ((await this.redis.set(key, token, 'PX', LOCK_MS, 'NX')) === 'OK') return token;
      if (Date.now() > deadline)
        throw new Error(`Command timed out: the shards of ${what} stayed locked for re-tagging over ${this.lockWaitMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
