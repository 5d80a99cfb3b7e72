/**
 * How much CPU other processes took while we measured: the machine's busy time (/proc/stat) minus
 * this process's own (all its threads: the runtime's pools and the engine's device threads included)
 * and its descendants' (the system sections' redis-server, API, aggregator and workers).
 * On a shared machine this tells a clean run from a disturbed one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface CpuSnapshot {
  /** Busy seconds of all CPUs since boot, or NaN off Linux. */
  busy: number;
  /** CPU seconds of this process and its live descendants. */
  own: number;
  /** Wall seconds. */
  at: number;
}

function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const idle = f[3] + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, seconds. */
  cpu: number;
}

/** /proc/<pid>/stat of one process (null when it is gone). */
export function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields after its closing parenthesis.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] = state (field 3), f[1] = ppid (4), f[11] = utime (14), f[12] = stime (15)
    return { pid, ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Every live descendant of `root` (children, their children, ...). */
export function descendants(root = process.pid): ProcStat[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
  const children = new Map<number, ProcStat[]>();
  for (const pid of pids) {
    const st = procStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(st);
    children.set(st.ppid, list);
  }
  const out: ProcStat[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

/** The machine's busy time and ours (this process, plus its descendants when it has any). */
export function snapshot(): CpuSnapshot {
  const u = process.cpuUsage();
  let own = (u.user + u.system) / 1e6;
  for (const d of descendants()) own += d.cpu;
  return { busy: machineBusySeconds(), own, at: Number(process.hrtime.bigint()) / 1e9 };
}

/** Average number of cores other processes kept busy between two snapshots (0 when unknown). */
export function foreignCores(a: CpuSnapshot, b: CpuSnapshot): number {
  const wall = b.at - a.at;
  if (!(wall > 0) || Number.isNaN(a.busy)) return 0;
  return Math.max(0, (b.busy - a.busy - (b.own - a.own)) / wall);
}

/**
 * Waits (up to `maxSeconds`) until other processes use less than `threshold` cores over a one-second
 * window. Returns the seconds waited.
 */
export async function waitForQuiet(threshold: number, maxSeconds: number): Promise<number> {
  const start = Date.now();
  while ((Date.now() - start) / 1000 < maxSeconds) {
    const a = snapshot();
    await sleep(1000);
    if (foreignCores(a, snapshot()) < threshold) break;
  }
  return (Date.now() - start) / 1000;
}
