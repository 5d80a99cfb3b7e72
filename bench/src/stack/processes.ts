/**
 * The job system's apps as real processes from dist/ (the bench runs from dist/, after the build),
 * and a redis-server of its own: what sections 3 and 4 measure. Our own helpers: the bench does not
 * import from test/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '@rerank/jobs';

/** The repository root (this file runs as dist/bench/src/stack/processes.js). */
export const ROOT = resolve(__dirname, '../../../..');

export const ENTRY = {
  api: join(ROOT, 'dist/apps/api/src/main.js'),
  aggregator: join(ROOT, 'dist/apps/aggregator/src/main.js'),
  launcher: join(ROOT, 'dist/apps/worker/src/launcher.js'),
};

export interface AppProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last ~1 MB it printed. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

function track(name: string, proc: ChildProcess): AppProcess {
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    if (process.env.RERANK_BENCH_LOGS) process.stderr.write(`[${name}] ${chunk.toString()}`);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((ok) => proc.once('exit', (code, signal) => ok(code ?? (signal ? -1 : null))));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    proc,
    pid: proc.pid as number,
    output: () => out,
    exited,
    async stop(timeoutMs = 20000) {
      if (!running()) return;
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      proc.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

export function spawnApp(name: keyof typeof ENTRY, env: Record<string, string>, args: string[] = []): AppProcess {
  const entry = ENTRY[name];
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build (npm run bench does)`);
  const proc = spawn(process.execPath, [entry, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(name, proc);
}

/** Polls until `check` returns a value (not undefined); throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

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
