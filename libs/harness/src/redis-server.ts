/**
 * A redis-server of our own: `npm start` (append-only file under the data dir, bounded memory), each
 * test file (a temporary directory, optionally fsynced AOF so a SIGKILL loses nothing) and the bench
 * (no persistence). Started on a free port unless told one; ready when it answers as itself (its pid).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port';
import { type AppProcess, type OutputMode, startProcess } from './process';
import { ProcessExitedError, waitFor } from './wait';

/** `none`: nothing on disk; `aof-always`: every write fsynced; `aof-everysec`: fsync once a second (the stack). */
export type RedisPersistence = 'none' | 'aof-always' | 'aof-everysec';

export interface RedisServerOptions {
  /** Default: a free port. */
  port?: number;
  /** Its working directory (AOF files); created when missing, kept. Default: a temporary one, removed by stop(). */
  dir?: string;
  persistence?: RedisPersistence;
  /** `maxmemory`, with the noeviction policy (BullMQ must never lose keys). Default: unbounded. */
  maxmemory?: string;
  /** Default `capture`. */
  output?: OutputMode;
  /** Environment of redis-server (default: ours). */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** The running redis-server (a new one after restart()). */
  process: AppProcess;
  /** A client for checks and assertions (closed by stop()). */
  client: Redis;
  /** INFO <section> as a map. */
  info(section: string): Promise<Record<string, string>>;
  /** SIGTERM (the append-only file is flushed), then the temporary directory is removed. */
  stop(): Promise<void>;
  /** SIGKILL (no shutdown save). */
  kill(): Promise<void>;
  /** Kills it and starts it again on the same port and directory (append-only data reloads). */
  restart(): Promise<void>;
}

const PERSISTENCE: Record<RedisPersistence, string[]> = {
  none: ['--appendonly', 'no'],
  'aof-always': ['--appendonly', 'yes', '--appendfsync', 'always'],
  'aof-everysec': ['--appendonly', 'yes', '--appendfsync', 'everysec'],
};

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rerank-redis-'));
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...PERSISTENCE[options.persistence ?? 'none'],
    '--daemonize',
    'no',
  ];
  if (options.maxmemory) args.push('--maxmemory', options.maxmemory, '--maxmemory-policy', 'noeviction');
  if ((options.output ?? 'capture') === 'capture') args.push('--loglevel', 'warning');
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: true });
  client.on('error', () => undefined);
  const launch = () =>
    startProcess({ name: 'redis', command: 'redis-server', args, env: options.env ?? process.env, output: options.output });

  const ready = async (proc: AppProcess) => {
    await waitFor(
      `redis-server on port ${port}`,
      async () => {
        if (!proc.running()) {
          const code = await proc.exited;
          throw new ProcessExitedError(
            `redis-server exited with code ${code} (is redis-server installed and port ${port} free?) ${proc.output().slice(-2000)}`,
          );
        }
        if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => undefined);
        // Ours, not another server already on the port (then ours exits: "Address already in use").
        const pid = /^process_id:(\d+)/m.exec(await client.info('server'))?.[1];
        return Number(pid) === proc.proc.pid ? true : undefined;
      },
      options.readyTimeoutMs ?? 15000,
      100,
    ).catch(async (e: Error) => {
      await proc.kill();
      throw e;
    });
  };

  const server: RedisServer = {
    port,
    url,
    dir,
    process: launch(),
    client,
    async info(section) {
      const out: Record<string, string> = {};
      for (const line of (await client.info(section)).split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
      }
      return out;
    },
    async stop() {
      client.disconnect();
      await server.process.stop(options.stopTimeoutMs ?? 10000);
      if (temporary) rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await server.process.kill();
    },
    async restart() {
      await server.process.kill();
      server.process = launch();
      await ready(server.process);
    },
  };
  try {
    await ready(server.process);
  } catch (e) {
    client.disconnect();
    if (temporary) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return server;
}
