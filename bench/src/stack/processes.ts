/** The resident memory of processes: with the apps that @rerank/harness starts, what sections 3 and 4 measure. */
import { readFileSync } from 'node:fs';

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
