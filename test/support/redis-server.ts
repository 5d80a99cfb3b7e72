/** A redis-server of its own for a test file: free port, temp dir, stop or kill it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '@rerank/jobs';

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  proc: ChildProcess;
  /** A client for assertions (closed by stop()). */
  client: Redis;
  stop(): Promise<void>;
  /** SIGKILL the server (no shutdown save). */
  kill(): Promise<void>;
  /** Start it again on the same port and directory (append-only data reloads). */
  restart(): Promise<void>;
}

/** `appendonly`: every write fsynced to the append-only file (so a SIGKILL loses nothing). */
export async function startRedis(options: { appendonly?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rerank-redis-'));
  const persistence = options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--daemonize', 'no', '--loglevel', 'warning'];
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: true });
  client.on('error', () => undefined);
  const server: TestRedis = {
    port,
    url,
    dir,
    proc: spawn('redis-server', args, { stdio: 'ignore' }),
    client,
    async kill() {
      const proc = server.proc;
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      }
    },
    async restart() {
      await server.kill();
      server.proc = spawn('redis-server', args, { stdio: 'ignore' });
      await ready();
    },
    async stop() {
      client.disconnect();
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const ready = async () => {
    const deadline = Date.now() + 10000;
    for (;;) {
      try {
        if (client.status !== 'ready' && client.status !== 'connecting' && client.status !== 'reconnecting') await client.connect().catch(() => undefined);
        if ((await client.ping()) === 'PONG') return;
      } catch {
        // starting
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await ready();
  return server;
}
