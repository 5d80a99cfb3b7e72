/**
 * ShardProgress on Redis. A shard's start is one script (start-shard-3.lua: job still open? its
 * texts; then queued -> running and the run counted) when the texts are in the same Redis
 * (RedisDocumentStore); with texts elsewhere, the same script without texts, then the document store.
 */
import type { Redis } from 'ioredis';
import type { DocumentStore } from '../ports/document-store';
import type { Progress, ShardDone, ShardProgress, ShardStart } from '../ports/job-store';
import type { TerminalStatus } from '../queues';
import { exec, sumProgress } from './job-hash';
import { shardEntryFields } from './redis-job-event-log';
import { keys } from './keys';
import { RedisDocumentStore } from './redis-document-store';
import { runScript } from './scripts';

export class RedisShardProgress implements ShardProgress {
  /** The texts are read inside the start script (same Redis client). */
  private readonly textsBeside: boolean;

  constructor(
    private readonly redis: Redis,
    private readonly documents: DocumentStore,
  ) {
    this.textsBeside = documents instanceof RedisDocumentStore && documents.redis === redis;
  }

  async startShard(id: string, n: number, flatIndices: readonly number[], now = Date.now()): Promise<ShardStart> {
    const beside = this.textsBeside ? flatIndices : [];
    const [state, ...texts] = (await runScript(
      this.redis,
      'start-shard',
      [keys.job(id), keys.docs(id), keys.runs(id)],
      [now, n, ...beside],
    )) as string[];
    if (state !== 'ok') return { state: state as 'gone' | 'missing' | TerminalStatus };
    if (this.textsBeside) return { state, texts };
    const read = await this.documents.read(id, flatIndices);
    return read.every((t): t is string => t !== null) ? { state, texts: read } : { state: 'missing' };
  }

  /** One round trip: the progress and the event log's entry. */
  async recordShard(id: string, shard: ShardDone): Promise<void> {
    await exec(
      this.redis
        .multi()
        .hset(keys.progress(id), String(shard.n), shard.pairs)
        .xadd(keys.events(id), '*', ...shardEntryFields(shard)),
    );
  }

  async progress(id: string): Promise<Progress> {
    return sumProgress(await this.redis.hvals(keys.progress(id)));
  }
}
