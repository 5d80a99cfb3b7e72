/**
 * JobEventLog on Redis: a stream per job (keys.events), written by recordShard (MULTI with the
 * progress) and by the finish script; read here with XREAD on a connection of its own (a blocking
 * read holds its connection). One XREAD serves every job an API process watches; in a Redis Cluster
 * the jobs' streams are in different slots, so there each is read on its own, without blocking.
 */
import type { Redis } from 'ioredis';
import type { PairScore, Ranked } from '../merge';
import type { ShardDone } from '../ports/job-store';
import type { JobEventLog, JobLogEntry, LogEntryId } from '../ports/job-event-log';
import type { TerminalStatus } from '../queues';
import { clusterKeysInUse, keys } from './keys';

/** A shard's entry: k=shard, n, q, p (pairs), t (its top-k as JSON [[index, score], ...]). */
export function shardEntryFields(shard: ShardDone): string[] {
  const top = JSON.stringify(shard.top.map((r) => [r.index, r.score]));
  return ['k', 'shard', 'n', String(shard.n), 'q', String(shard.q), 'p', String(shard.pairs), 't', top];
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

function toEntry(id: string, fields: string[]): JobLogEntry | null {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  const at = Number(id.slice(0, id.indexOf('-')));
  if (f.get('k') === 'end') return { id, at, kind: 'end', status: f.get('s') as TerminalStatus };
  if (f.get('k') !== 'shard') return null;
  const top = (JSON.parse(f.get('t') ?? '[]') as [number, PairScore][]).map(([index, score]): Ranked => ({ index, score }));
  return { id, at, kind: 'shard', shard: { n: Number(f.get('n')), q: Number(f.get('q')), pairs: Number(f.get('p')), top } };
}

export class RedisJobEventLog implements JobEventLog {
  /** A connection of its own for the blocking reads. */
  private readonly reader: Redis;

  constructor(redis: Redis) {
    this.reader = redis.duplicate();
  }

  async read(after: ReadonlyMap<string, LogEntryId>, blockMs: number): Promise<Map<string, JobLogEntry[]>> {
    const jobs = [...after.keys()];
    const out = new Map<string, JobLogEntry[]>();
    if (jobs.length === 0) return out;
    const jobOfKey = new Map(jobs.map((j) => [keys.events(j), j]));
    const collect = (reply: StreamReply) => {
      for (const [key, entries] of reply ?? []) {
        const job = jobOfKey.get(key);
        if (!job) continue;
        const list = entries.map(([id, fields]) => toEntry(id, fields)).filter((e): e is JobLogEntry => e !== null);
        if (list.length > 0) out.set(job, list);
      }
    };
    if (!clusterKeysInUse()) {
      const streams = [...jobs.map((j) => keys.events(j)), ...jobs.map((j) => after.get(j) as string)];
      collect(await this.reader.xread('BLOCK', blockMs, 'STREAMS', ...streams));
      return out;
    }
    const replies = await Promise.all(jobs.map((j) => this.reader.xread('STREAMS', keys.events(j), after.get(j) as string)));
    for (const reply of replies) collect(reply);
    if (out.size === 0) await new Promise((r) => setTimeout(r, blockMs));
    return out;
  }

  async close(): Promise<void> {
    await this.reader.quit().catch(() => undefined);
  }
}
