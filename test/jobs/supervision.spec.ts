/**
 * Supervision: the Supervisor helper on real child processes, and `npm start`'s stack restarting a
 * SIGKILLed API and aggregator (they come back and serve) instead of stopping everything.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor } from '@rerank/harness';
import { freePort } from '@rerank/harness';
import type { Logger } from '@rerank/jobs';
import { ApiClient } from '../support/http';
import { type AppProcess, spawnApp, waitFor, waitForHttp } from '../support/processes';

jest.setTimeout(180000);

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Supervisor', () => {
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
  const sleeper = () => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });

  it('restarts a killed process with backoff (1 s, then 2 s) and stops it for good on stop()', async () => {
    const s = new Supervisor({ name: 'sleeper', spawn: sleeper, log });
    s.start();
    const first = s.pid!;
    expect(alive(first)).toBe(true);
    process.kill(first, 'SIGKILL');
    const second = await waitFor('a second process', () => (s.pid && s.pid !== first ? s.pid : undefined), 10000, 20);
    expect(lines).toContain(`WARN sleeper pid ${first} exited (SIGKILL); restarting in 1000 ms`);
    process.kill(second, 'SIGKILL');
    const third = await waitFor('a third process', () => (s.pid && s.pid !== second ? s.pid : undefined), 10000, 20);
    expect(lines).toContain(`WARN sleeper pid ${second} exited (SIGKILL); restarting in 2000 ms`);
    expect(s.restarts).toBe(2);
    await s.stop();
    expect(alive(third)).toBe(false);
    expect(s.child).toBeNull();
    // Nothing comes back after a stop.
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.pid).toBeUndefined();
  });

  it('leaves a process down when shouldRestart says no, and reports it', async () => {
    const gaveUp: (number | null)[] = [];
    const s = new Supervisor({
      name: 'once',
      spawn: () => spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' }),
      log,
      shouldRestart: () => false,
      onGiveUp: (exit) => gaveUp.push(exit.code),
    });
    s.start();
    await waitFor('give up', () => (gaveUp.length ? true : undefined), 10000, 20);
    expect(gaveUp).toEqual([3]);
    expect(s.pid).toBeUndefined();
    expect(lines.some((l) => /ERROR once pid \d+ exited \(code 3\); not restarting/.test(l))).toBe(true);
  });
});

describe('npm start restarts a crashed API and aggregator', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rerank-stack-sup-'));
  let stack: AppProcess | undefined;
  afterAll(async () => {
    await stack?.stop(60000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The pid of the latest `<name> started, pid N` line of the stack. */
  const pidOf = (name: string): number | undefined => {
    const all = [...stack!.output().matchAll(new RegExp(`\\b${name} started, pid (\\d+)`, 'g'))];
    return all.length ? Number(all[all.length - 1][1]) : undefined;
  };

  it('a SIGKILLed API comes back and serves; so does a SIGKILLed aggregator', async () => {
    const port = await freePort();
    const redisPort = await freePort();
    stack = spawnApp('stack', { RERANK_DATA_DIR: dataDir, PORT: String(port), RERANK_DEVICES: 'cpu', RERANK_THREADS: '1' }, [
      '--redis-port',
      String(redisPort),
    ]);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 200, 90000, stack);
    // The stack restarts crashed processes only once it saw the API up (its own poll, logged as "ready:").
    await waitFor(
      'the stack to be up',
      () => (/"component":"stack".*"msg":"ready: http:\/\/127\.0\.0\.1:/.test(stack!.output()) ? true : undefined),
      60000,
    );
    const api = new ApiClient(`http://127.0.0.1:${port}`);

    const apiPid = pidOf('api')!;
    expect(alive(apiPid)).toBe(true);
    process.kill(apiPid, 'SIGKILL');
    const newApi = await waitFor('a new API process', () => (pidOf('api') !== apiPid ? pidOf('api') : undefined), 30000, 50);
    expect(stack.output()).toContain(`api pid ${apiPid} exited (SIGKILL); restarting in 1000 ms`);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 200, 60000, stack);
    const sync = await api.post('/v1/rerank', { query: 'hello', documents: ['hello world', 'bye'] });
    expect(sync.status).toBe(200);
    expect(sync.body.results).toHaveLength(2);
    expect(alive(newApi)).toBe(true);

    const aggPid = pidOf('aggregator')!;
    process.kill(aggPid, 'SIGKILL');
    await waitFor('a new aggregator process', () => (pidOf('aggregator') !== aggPid ? true : undefined), 30000, 50);
    expect(stack.output()).toContain(`aggregator pid ${aggPid} exited (SIGKILL); restarting in 1000 ms`);
    // Jobs need the aggregator: one completes.
    const created = await api.post('/v1/jobs', { query: 'hello', documents: ['hello world', 'bye', 'hi'] });
    expect(created.status).toBe(202);
    expect((await api.waitJob(created.body.id, 60000)).status).toBe('completed');

    // The stack itself kept running, and still stops cleanly.
    expect(stack.proc.exitCode).toBeNull();
    stack.proc.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    expect(alive(newApi)).toBe(false);
    stack = undefined;
  });
});
