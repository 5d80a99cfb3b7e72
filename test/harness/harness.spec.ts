/**
 * @rerank/harness on real processes: output capture and line prefixing (from dist/, as `npm start`
 * runs it), stop with the SIGKILL fallback, a command that cannot start, readiness that gives up when
 * the process exits, a redis-server that keeps its append-only data across a kill, and a Cluster that
 * cleans up after a failed start.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, ProcessExitedError, ROOT, startProcess, startRedisServer, stopProcess, waitForHttp } from '@rerank/harness';
import { freePort } from '@rerank/harness';

jest.setTimeout(60000);

const node = (script: string) => ({ command: process.execPath, args: ['-e', script], env: { PATH: process.env.PATH ?? '' } });

describe('processes', () => {
  it('captures stdout and stderr and reports the exit code', async () => {
    const p = startProcess({ name: 'echo', ...node("console.log('to stdout'); console.error('to stderr'); process.exit(3)") });
    expect(await p.exited).toBe(3);
    expect(p.output()).toContain('to stdout\n');
    expect(p.output()).toContain('to stderr\n');
    expect(p.running()).toBe(false);
  });

  it('prefixes each line with the name in prefix mode, a last unterminated line included (the shipped build)', async () => {
    const harness = join(ROOT, 'dist/libs/harness/src/index.js');
    expect(existsSync(harness)).toBe(true);
    const child =
      "process.stdout.write('one\\ntw'); setTimeout(() => { process.stdout.write('o\\nthree'); process.stderr.write('err\\n'); }, 50)";
    const outer = startProcess({
      name: 'outer',
      ...node(
        `require(${JSON.stringify(harness)}).spawnProcess({ name: 'kid', command: process.execPath, args: ['-e', ${JSON.stringify(child)}], env: process.env, output: 'prefix' })`,
      ),
    });
    expect(await outer.exited).toBe(0);
    const lines = outer.output().split('\n').filter(Boolean).sort();
    expect(lines).toEqual(['[kid] err', '[kid] one', '[kid] three', '[kid] two']);
  });

  it('stops with SIGTERM (the exit code the process chose), and with SIGKILL when SIGTERM is ignored', async () => {
    const polite = startProcess({
      name: 'polite',
      ...node("process.on('SIGTERM', () => process.exit(5)); console.log('up'); setInterval(() => {}, 1000)"),
    });
    const stubborn = startProcess({
      name: 'stubborn',
      ...node("process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"),
    });
    // Handlers installed once they printed.
    for (const p of [polite, stubborn]) while (!p.output().includes('up')) await new Promise((r) => setTimeout(r, 20));
    expect(await polite.stop()).toBe(5);
    expect(await stubborn.stop(500)).toBe(-1);
    expect(stubborn.proc.signalCode).toBe('SIGKILL');
    // Stopping a stopped process is a no-op.
    await stopProcess(stubborn.proc);
    expect(await stubborn.stop()).toBe(-1);
  });

  it('a command that cannot start: exited is null, the reason is in the output', async () => {
    const p = startProcess({ name: 'ghost', command: 'rerank-no-such-command', env: { PATH: process.env.PATH ?? '' } });
    expect(await p.exited).toBeNull();
    expect(p.output()).toContain('ENOENT');
    expect(await p.stop()).toBeNull();
  });

  it('waitForHttp gives up as soon as the watched process exits, with its output', async () => {
    const port = await freePort();
    const p = startProcess({ name: 'crasher', ...node("console.error('bad configuration'); process.exit(4)") });
    const wait = waitForHttp(`http://127.0.0.1:${port}/health/live`, { process: p, timeoutMs: 45000 });
    await expect(wait).rejects.toBeInstanceOf(ProcessExitedError);
    await expect(wait).rejects.toThrow(
      /crasher exited \(code 4\) before http:\/\/127\.0\.0\.1:\d+\/health\/live answered \(crasher output:\nbad configuration/,
    );
  });
});

describe('redis-server', () => {
  it('keeps fsynced data across a SIGKILL and restart; stop removes its temporary directory', async () => {
    const redis = await startRedisServer({ persistence: 'aof-always' });
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      await redis.client.set('rerank:test:kept', 'yes');
      const first = redis.process.proc.pid;
      await redis.kill();
      expect(redis.process.running()).toBe(false);
      await redis.restart();
      expect(redis.process.proc.pid).not.toBe(first);
      expect(await redis.client.get('rerank:test:kept')).toBe('yes');
      expect((await redis.info('persistence')).aof_enabled).toBe('1');
    } finally {
      await redis.stop();
    }
    expect(redis.process.running()).toBe(false);
    expect(existsSync(redis.dir)).toBe(false);
  });

  it('a port already taken: the start fails and says so', async () => {
    const redis = await startRedisServer();
    try {
      await expect(startRedisServer({ port: redis.port })).rejects.toThrow(`(is redis-server installed and port ${redis.port} free?)`);
    } finally {
      await redis.stop();
    }
  });
});

describe('Cluster', () => {
  class Probe extends Cluster {
    static last: Probe | undefined;
    constructor(options: ConstructorParameters<typeof Cluster>[0]) {
      super(options);
      Probe.last = this;
    }
  }

  it('a failed start stops what it started, Redis included, and says which process failed', async () => {
    // An invalid variable: the API refuses to start (exit code 2).
    const start = Probe.start({ models: [{ name: 'tiny', path: '/nonexistent' }], env: { RERANK_SHARD_MAX_PAIRS: 'many' } });
    await expect(start).rejects.toThrow(
      /api exited \(code 2\) before http:\/\/127\.0\.0\.1:\d+\/health\/live answered[\s\S]*RERANK_SHARD_MAX_PAIRS/,
    );
    const c = Probe.last!;
    expect(c.api.running()).toBe(false);
    expect(c.aggregator.running()).toBe(false);
    expect(c.redis.process.running()).toBe(false);
    expect(existsSync(c.redis.dir)).toBe(false);
  });
});
