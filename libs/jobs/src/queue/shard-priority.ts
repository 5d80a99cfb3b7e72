/**
 * Fair shares of a model's shard queue, on BullMQ priorities (lower runs first, equal priorities in
 * arrival order), by cost, across tenants (API keys) first and then across a tenant's jobs.
 *
 * Virtual time. A shard's priority is its start tag. `V`, the virtual time now, is the priority of
 * the first waiting shard of the model's queue (SHARD_PRIORITY when none waits). Each tenant's
 * waiting shards form one sequence that starts at the tenant's own first waiting tag when it has
 * shards waiting already (adding a job never moves a tenant ahead of where it stood), else near V:
 * where its previous sequence ended, within a bounded credit of V either way (newcomerStart), and
 * advances by each shard's cost, so every backlogged tenant progresses at the same rate whatever
 * its number of jobs, and a tenant that arrives later starts beside the others instead of behind
 * them (start-time fair queuing; a big job never starves, it shares).
 *
 * Inside a tenant, its jobs alternate weighted round-robin by cost: each job has a virtual clock
 * advanced by `cost × (1 + priority)` (Cohere's scale, 0 the most urgent: weight 1 / (1 + p)) and
 * the job whose next shard would finish first on its clock goes next (ties: the older job). So a
 * tenant's jobs share its rate; the priority weighs a job against the same tenant's other jobs, as
 * the engine's device scheduler weighs a group inside its tenant.
 *
 * Cost unit. A shard's cost is its characters (query + document per pair, ShardPlan.chars), in units
 * of COST_UNIT_CHARS: a tag is `start + floor(cumulative cost / COST_UNIT_CHARS)`, the sum taken
 * exactly so no rounding accumulates. BullMQ's largest priority (2^21) is then reached only after
 * about 8.6 G characters (some 30 M pairs of 250 characters) of one tenant's work in a continuous
 * backlog; V falls back to SHARD_PRIORITY whenever the queue drains. Past it, tags saturate at
 * MAX_BULL_PRIORITY: saturated shards run first in, first out among themselves, never fail.
 */
import { SHARD_PRIORITY } from '../queues';

/** BullMQ's largest priority. */
export const MAX_BULL_PRIORITY = 2 ** 21;
/** Characters per unit of virtual time. */
export const COST_UNIT_CHARS = 4096;

/** A shard's cost as a fraction of work (characters; at least 1 so an empty shard still counts). */
export function shardCost(chars: number): number {
  return Math.max(1, Math.round(chars));
}

/** One shard of a tenant's sequence, as the tagger sees it. */
export interface FairShard {
  /** BullMQ job id of the shard. */
  id: string;
  /** Its job. */
  job: string;
  /** Shard number within the job (a job's shards keep this order). */
  n: number;
  /** Characters (shardCost). */
  cost: number;
  /** The job's cost factor: 1 / its schedule's weight. */
  factor: number;
  /** When the job was queued (ms): the older job wins ties. */
  queuedAt: number;
}

/** A shard and its BullMQ priority. */
export interface ShardTag {
  id: string;
  tag: number;
}

/** The tag of a point `cumulative` characters into a sequence that starts at `start`. */
export function tagAt(start: number, cumulative: number): number {
  return Math.min(MAX_BULL_PRIORITY, start + Math.floor(cumulative / COST_UNIT_CHARS));
}

/** The virtual time now: the first waiting shard's priority, SHARD_PRIORITY when none waits. */
export function virtualTime(head: number | null): number {
  return Math.max(1, head ?? SHARD_PRIORITY);
}

/**
 * The throughput a model's queue assumes until one of its workers has reported its own (a worker
 * measures over a few seconds of busy time): 65,536 characters a second, a MiniLM-size encoder on
 * two CPU threads. Over TENANT_CREDIT_MS (4 s) that is a credit of 64 units.
 */
export const ASSUMED_CHARS_PER_SECOND = 65536;

/** The credit in units of virtual time: `creditChars` (the one fairness credit in characters, see fair-queue.ts) over COST_UNIT_CHARS. */
export function creditUnits(creditChars: number): number {
  return Math.max(0, Math.floor(creditChars / COST_UNIT_CHARS));
}

/**
 * Where a tenant without waiting shards starts. `head` is the first waiting shard's priority (null:
 * the queue is empty, so SHARD_PRIORITY), `finish` the tag after the tenant's previous sequence
 * (null: none recorded), `credit` the fairness credit in units. It starts at `finish`, kept within
 * the credit of the head:
 * - at most that far ahead of it, so a tenant back from idle catches up a bounded share: its new
 *   job's first shards come before the head, where a worker's tenant slots take them at once
 *   (tenant-slot.ts), instead of after the shards of the tenant being served;
 * - at most that far behind it, so a finish left from an earlier busy period holds nobody back.
 * A stream of small jobs cannot keep jumping the queue: its finish advances with what it ran.
 * BullMQ's lowest priority, 1, also bounds the credit.
 */
export function newcomerStart(head: number | null, finish: number | null, credit: number): number {
  if (head === null) return SHARD_PRIORITY;
  const ahead = Math.max(1, head - credit);
  return finish === null ? ahead : Math.min(Math.max(finish, ahead), head + credit);
}

/**
 * Tags of one tenant's shards (those already waiting and a new job's), in the order they run:
 * the sequence starts at `start` (virtualTime, or the tenant's first waiting tag) and advances by
 * cost; the tenant's jobs alternate by weighted cost. Pure; the input order does not matter.
 */
export function tenantTags(shards: readonly FairShard[], start: number): ShardTag[] {
  const jobs = new Map<string, { shards: FairShard[]; clock: number; factor: number; queuedAt: number }>();
  for (const s of shards) {
    let j = jobs.get(s.job);
    if (!j) jobs.set(s.job, (j = { shards: [], clock: 0, factor: s.factor, queuedAt: s.queuedAt }));
    j.shards.push(s);
  }
  const queues = [...jobs.entries()]
    .sort(([a, x], [b, y]) => x.queuedAt - y.queuedAt || (a < b ? -1 : a > b ? 1 : 0))
    .map(([, j]) => ({ ...j, shards: j.shards.sort((a, b) => a.n - b.n), next: 0 }));
  const out: ShardTag[] = [];
  let cumulative = 0;
  for (;;) {
    // The job whose next shard finishes first on its own clock; the older job on ties (sorted above).
    let best: (typeof queues)[number] | undefined;
    let bestFinish = Infinity;
    for (const j of queues) {
      if (j.next >= j.shards.length) continue;
      const finish = j.clock + j.shards[j.next].cost * j.factor;
      if (finish < bestFinish) {
        best = j;
        bestFinish = finish;
      }
    }
    if (!best) return out;
    const s = best.shards[best.next++];
    best.clock = bestFinish;
    out.push({ id: s.id, tag: tagAt(start, cumulative) });
    cumulative += s.cost;
  }
}
