/**
 * A redis-server of the bench's own and the resident memory of processes: with the apps that
 * @rerank/harness spawns from dist/, what sections 3 and 4 measure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type AppProcess, track, waitFor } from '@rerank/harness';
import { freePort } from '@rerank/jobs';

export interface BenchRedis {
  url: string;
  port: number;
  proc: AppProcess;
  client: Redis;
  /** INFO <section> as a map. */
  info(section: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** A redis-server on a free port in a temporary directory, no persistence (RDB and AOF off). */
export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rerank-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  const proc = track('redis', spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => 100 });
  client.on('error', () => undefined);
  await waitFor(`redis-server on port ${port}`, async () => {
    if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => undefined);
    return (await client.ping()) === 'PONG' ? true : undefined;
  }, 10000);
  return {
    url,
    port,
    proc,
    client,
    async info(section) {
      const text = await client.info(section);
      const out: Record<string, string> = {};
      for (const line of text.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
      }
      return out;
    },
    async stop() {
      client.disconnect();
      await proc.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** VmRSS and VmHWM (peak resident set) of a process, bytes; null when it is gone. */
export function residentMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}
