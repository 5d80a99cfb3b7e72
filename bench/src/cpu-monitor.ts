/**
 * How much CPU other processes took while we measured: the machine's busy time (/proc/stat) minus
 * this process's own (all its threads: the runtime's pools and the engine's device threads included).
 * On a shared machine this tells a clean run from a disturbed one.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface CpuSnapshot {
  /** Busy seconds of all CPUs since boot, or NaN off Linux. */
  busy: number;
  /** This process's CPU seconds. */
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

export function snapshot(): CpuSnapshot {
  const u = process.cpuUsage();
  return { busy: machineBusySeconds(), own: (u.user + u.system) / 1e6, at: Number(process.hrtime.bigint()) / 1e9 };
}

/** Average number of cores other processes kept busy between two snapshots (0 when unknown). */
export function foreignCores(a: CpuSnapshot, b: CpuSnapshot): number {
  const wall = b.at - a.at;
  if (!(wall > 0) || Number.isNaN(a.busy)) return 0;
  return Math.max(0, (b.busy - a.busy - (b.own - a.own)) / wall);
}

export const CORES = cpus().length;

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
