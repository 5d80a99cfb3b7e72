/**
 * One child process: spawned with its output captured, prefixed or passed through, and stopped with
 * SIGTERM then SIGKILL. `npm start`, the worker launcher, the tests and the benchmark all start and
 * stop their processes through this module.
 */
import { ConfigError, readSection } from '@rerank/jobs';
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** RERANK_HARNESS_LOGS, the configuration's `harness` section (a bad value stops the tests with the reason). */
function echoLogs(): boolean {
  const harness = readSection('harness');
  if ('problems' in harness) throw new ConfigError(harness.problems);
  return harness.value.logs === true;
}

/**
 * What happens to a process's stdout and stderr:
 * - `capture`: kept in memory (`output()`), echoed with a `[name] ` prefix when `RERANK_HARNESS_LOGS` is set (tests, bench);
 * - `prefix`: each line written to our stdout / stderr with a `[name] ` prefix (`npm start`);
 * - `inherit`: our own stdout / stderr (the launcher's workers: their log lines name them already).
 */
export type OutputMode = 'capture' | 'prefix' | 'inherit';

export interface ProcessSpec {
  /** For prefixes and messages: "api", "worker cpu", "redis". */
  name: string;
  command: string;
  args?: readonly string[];
  /** The whole environment of the process (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  output?: OutputMode;
  /** An IPC channel (the child sees `process.send` and a `disconnect` when we go away). */
  ipc?: boolean;
  /** Its own process group: a terminal's Ctrl-C reaches us only, and we stop our children in order. */
  detached?: boolean;
}

/** Keeps at most this much of a captured output (the tail). */
const CAPTURE_LIMIT = 1_000_000;

/** Calls `write` with each complete line of `stream` (and a last unterminated one at its end), prefixed. */
function prefixLines(stream: Readable, prefix: string, write: (line: string) => void): void {
  let partial = '';
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (partial) write(`${prefix}${partial}\n`);
    partial = '';
  });
}

const writeTo = (out: Writable) => (line: string) => void out.write(line);

/** Starts a process as the spec says; its output is wired up before this returns. */
export function spawnProcess(spec: ProcessSpec): ChildProcess {
  const mode = spec.output ?? 'capture';
  const io = mode === 'inherit' ? 'inherit' : 'pipe';
  const stdio: StdioOptions = ['ignore', io, io, ...(spec.ipc ? (['ipc'] as const) : [])];
  const proc = spawn(spec.command, [...(spec.args ?? [])], { env: spec.env, stdio, detached: spec.detached ?? false });
  if (mode === 'prefix') {
    for (const [stream, out] of [
      [proc.stdout, process.stdout],
      [proc.stderr, process.stderr],
    ] as const) {
      stream?.setEncoding('utf8');
      if (stream) prefixLines(stream, `[${spec.name}] `, writeTo(out));
    }
  }
  return proc;
}

const isRunning = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined;

/** Resolves when `proc` has exited (at once when it already has, or never started). */
function exitOf(proc: ChildProcess): Promise<void> {
  if (!isRunning(proc)) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** Sends `signal` (default SIGTERM), SIGKILL after `timeoutMs`; resolves once the process has exited. */
export async function stopProcess(proc: ChildProcess, options: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<void> {
  if (!isRunning(proc)) return;
  const exited = exitOf(proc);
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 20000);
  proc.kill(options.signal ?? 'SIGTERM');
  await exited;
  clearTimeout(timer);
}

export interface AppProcess {
  name: string;
  proc: ChildProcess;
  /** What it printed (the last ~1 MB) in `capture` mode; empty otherwise. */
  output(): string;
  /** Its exit code; -1 when a signal ended it, null when it never started (the spawn error is in `output()`). */
  exited: Promise<number | null>;
  running(): boolean;
  /** SIGTERM and wait (SIGKILL after `timeoutMs`); its exit code as in `exited`. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Tracks a spawned process: captures its piped output unless `capture` is false, and knows how to stop it. */
export function track(name: string, proc: ChildProcess, capture = true): AppProcess {
  let out = '';
  const keep = (chunk: string) => {
    out += chunk;
    if (out.length > 2 * CAPTURE_LIMIT) out = out.slice(-CAPTURE_LIMIT);
  };
  const echo = echoLogs() ? writeTo(process.stderr) : undefined;
  for (const stream of capture ? [proc.stdout, proc.stderr] : []) {
    if (!stream) continue;
    stream.setEncoding('utf8');
    stream.on('data', keep);
    if (echo) prefixLines(stream, `[${name}] `, echo);
  }
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    // A process that could not start (no such command) emits 'error' and never 'exit'.
    proc.once('error', (e) => {
      out += `\n[${name}] ${e.message}\n`;
      if (proc.pid === undefined) resolve(null);
    });
  });
  return {
    name,
    proc,
    output: () => out,
    exited,
    running: () => isRunning(proc),
    async stop(timeoutMs = 20000) {
      await stopProcess(proc, { timeoutMs });
      return exited;
    },
    async kill() {
      if (isRunning(proc)) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** `spawnProcess` + `track`. */
export function startProcess(spec: ProcessSpec): AppProcess {
  return track(spec.name, spawnProcess(spec), (spec.output ?? 'capture') === 'capture');
}
