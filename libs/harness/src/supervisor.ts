/**
 * One child process kept running: started by a factory, restarted with backoff when it exits
 * unexpectedly, stopped with SIGTERM (SIGKILL after a timeout). The worker launcher supervises its
 * workers with it, and `npm start` its API, aggregator and launcher.
 */
import type { ChildProcess } from 'node:child_process';
import { stopProcess } from './process';

/** Where the supervisor reports starts, restarts and give-ups (@rerank/jobs' Logger fits). */
export interface SupervisorLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A process that ran this long before dying starts over at the shortest restart delay. */
export const STABLE_RUN_MS = 60000;

/** Restart delay after `restarts` quick failures: 1 s, 2 s, 4 s, ... up to 30 s. */
export function restartDelay(restarts: number): number {
  return Math.min(30000, 1000 * 2 ** Math.max(0, restarts));
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number | undefined;
  /** How long the process ran, in ms. */
  ranMs: number;
}

export interface SupervisorOptions {
  /** For log lines: "worker cpu", "api". */
  name: string;
  /** Starts a fresh process (called again for each restart). */
  spawn: () => ChildProcess;
  log: SupervisorLog;
  /** Whether an unexpected exit is restarted (default: always). Returning false leaves it down (`onGiveUp`). */
  shouldRestart?: (exit: ChildExit) => boolean;
  /** Called when an unexpected exit is not restarted. */
  onGiveUp?: (exit: ChildExit) => void;
  /** Called with each new process (listen to its messages here). */
  onSpawn?: (child: ChildProcess) => void;
  /** SIGKILL after this long when a stop's SIGTERM is not enough (default 60 s). */
  stopTimeoutMs?: number;
}

export class Supervisor {
  private current: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | undefined;
  private startedAt = 0;
  /** Restarts since the process last ran for STABLE_RUN_MS. */
  restarts = 0;

  constructor(private readonly opts: SupervisorOptions) {}

  get child(): ChildProcess | null {
    return this.current;
  }

  get pid(): number | undefined {
    return this.current?.pid;
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  start(): void {
    this.timer = null;
    if (this.stopping) return;
    const child = this.opts.spawn();
    this.current = child;
    this.startedAt = Date.now();
    child.once('error', (e) => this.opts.log.error(`${this.opts.name}: ${e.message}`));
    child.once('exit', (code, signal) => this.exited(child, { code, signal, pid: child.pid, ranMs: Date.now() - this.startedAt }));
    this.opts.log.info(`${this.opts.name} started, pid ${child.pid}`);
    this.opts.onSpawn?.(child);
  }

  private exited(child: ChildProcess, exit: ChildExit): void {
    if (this.current === child) this.current = null;
    if (this.stopping) return;
    if (this.opts.shouldRestart && !this.opts.shouldRestart(exit)) {
      this.opts.log.error(`${this.opts.name} pid ${exit.pid} exited (${exit.signal ?? `code ${exit.code}`}); not restarting`);
      this.opts.onGiveUp?.(exit);
      return;
    }
    if (exit.ranMs > STABLE_RUN_MS) this.restarts = 0;
    const delay = restartDelay(this.restarts++);
    this.opts.log.warn(`${this.opts.name} pid ${exit.pid} exited (${exit.signal ?? `code ${exit.code}`}); restarting in ${delay} ms`);
    this.timer = setTimeout(() => this.start(), delay);
  }

  /** No more restarts; SIGTERM (or `signal`) to the running process, SIGKILL after the stop timeout. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      const child = this.current;
      if (child) await stopProcess(child, { signal, timeoutMs: this.opts.stopTimeoutMs ?? 60000 });
    })();
    return this.stopping;
  }
}
