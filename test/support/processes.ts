/** The apps as real processes from dist/ (npm test builds first; run `npm run build` when iterating). */
import { readdirSync, readFileSync } from 'node:fs';
import { type AppProcess, waitForHttp as harnessWaitForHttp } from '@rerank/harness';

export { type AppProcess, ENTRY, ROOT, spawnApp, waitFor } from '@rerank/harness';

/** Polls `url` until it answers `status`; fails at once (with its output) when `proc` exits first. */
export function waitForHttp(url: string, status = 200, timeoutMs = 30000, proc?: AppProcess): Promise<void> {
  return harnessWaitForHttp(url, { status, timeoutMs, process: proc });
}

/** A live process: its pid and command line (from /proc). */
export interface ProcessInfo {
  pid: number;
  command: string;
}

/** `pid` and every process below it, now (Linux: /proc), each with its command line. */
export function processTree(pid: number): ProcessInfo[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The ppid is the 2nd field after the parenthesised command name, which may itself hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we read
    }
  }
  const tree: ProcessInfo[] = [];
  const visit = (p: number) => {
    const command = commandOf(p);
    if (command === undefined) return;
    tree.push({ pid: p, command });
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return tree;
}

/** The command line of a live process, or undefined when there is none by that pid (zombies included). */
export function commandOf(pid: number): string | undefined {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

/** The environment of a whole stack started as a user would (`npm start`, or its entry point): one CPU worker on one thread. */
export function stackEnv(dataDir: string, port: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    RERANK_DATA_DIR: dataDir,
    PORT: String(port),
    RERANK_DEVICES: 'cpu',
    RERANK_THREADS: '1',
  };
}
