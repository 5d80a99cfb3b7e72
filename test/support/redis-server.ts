/** A redis-server of its own for a test file: free port, temporary directory, stop, kill or restart it (@rerank/harness). */
import { type RedisServer, startRedisServer } from '@rerank/harness';

export type TestRedis = RedisServer;

/** `appendonly`: every write fsynced to the append-only file (so a SIGKILL loses nothing). */
export function startRedis(options: { appendonly?: boolean } = {}): Promise<TestRedis> {
  return startRedisServer({ persistence: options.appendonly ? 'aof-always' : 'none' });
}
