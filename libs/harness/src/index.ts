/**
 * @rerank/harness: the job system's apps as real processes from dist/, for the tests and the
 * benchmark (not shipped to users). One copy of spawning, output capture, stopping and polling.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONFIG_VAR, ConfigError, readVar } from '@rerank/jobs';

/** The repository root: the nearest folder above this file with the project's package.json (runs from libs/ under ts-jest and from dist/libs/ after the build). */
function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rerank-service') return dir;
  }
  throw new Error(`no rerank-service package.json above ${from}`);
}

export const ROOT = findRoot(__dirname);

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
  /** What it printed (the last ~1 MB). */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM and wait (SIGKILL after `timeoutMs`); its exit code, -1 when a signal ended it. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** RERANK_HARNESS_LOGS, read through the configuration schema (a bad value stops the tests with the reason). */
function echoLogs(): boolean {
  const { value, problems } = readVar(CONFIG_VAR.RERANK_HARNESS_LOGS, process.env);
  if (problems.length) throw new ConfigError(problems);
  return value === true;
}

/** Keeps a spawned process's output; echoes it to stderr when `RERANK_HARNESS_LOGS` is set. */
export function track(name: string, proc: ChildProcess): AppProcess {
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    if (echoLogs()) process.stderr.write(`[${name}] ${chunk.toString()}`);
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

/** Starts one of the apps from dist/ with only PATH, HOME and `env` in its environment. */
export function spawnApp(name: keyof typeof ENTRY, env: Record<string, string>, args: string[] = []): AppProcess {
  const entry = ENTRY[name];
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build (npm test and npm run bench do)`);
  const proc = spawn(process.execPath, [entry, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(name, proc);
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
    await sleep(everyMs);
  }
}
