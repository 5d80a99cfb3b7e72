/** The apps as real processes from dist/ (npm test builds first; run `npm run build` when iterating). */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const ENTRY = {
  api: join(ROOT, 'dist/apps/api/src/main.js'),
  aggregator: join(ROOT, 'dist/apps/aggregator/src/main.js'),
  worker: join(ROOT, 'dist/apps/worker/src/main.js'),
  launcher: join(ROOT, 'dist/apps/worker/src/launcher.js'),
  stack: join(ROOT, 'dist/apps/stack/src/main.js'),
};

export interface AppProcess {
  name: string;
  proc: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM and wait (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

export function spawnApp(name: keyof typeof ENTRY, env: Record<string, string>, args: string[] = []): AppProcess {
  const entry = ENTRY[name];
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build (npm test does)`);
  const proc = spawn(process.execPath, [entry, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    if (process.env.RERANK_TEST_LOGS) process.stderr.write(`[${name}] ${chunk.toString()}`);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    proc,
    output: () => out,
    exited,
    async stop(timeoutMs = 20000) {
      if (!running()) return exited;
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      proc.kill('SIGTERM');
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (running()) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls until `check` returns a value (not undefined), or throws after `timeoutMs` with `what`. */
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
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function waitForHttp(url: string, status = 200, timeoutMs = 30000, proc?: AppProcess): Promise<void> {
  await waitFor(`${url} to answer ${status}${proc ? ` (${proc.name} output:\n${proc.output().slice(-3000)})` : ''}`, async () => {
    if (proc && proc.proc.exitCode !== null) throw new Error(`${proc.name} exited: ${proc.output().slice(-3000)}`);
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.status === status ? true : undefined;
  }, timeoutMs, 150);
}
