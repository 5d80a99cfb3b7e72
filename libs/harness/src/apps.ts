/** The service's apps as processes from dist/, with a clean environment: what the tests and the bench start. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type AppProcess, startProcess } from './process';

/** The repository root: the nearest folder above `from` with the project's package.json (libs/ under ts-jest, dist/libs/ after the build). */
function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rerank-service') return dir;
  }
  // Not in a checkout (an image without package.json): the apps are found relative to the current directory.
  return process.cwd();
}

export const ROOT = findRoot(__dirname);

export const ENTRY = {
  api: join(ROOT, 'dist/apps/api/src/main.js'),
  aggregator: join(ROOT, 'dist/apps/aggregator/src/main.js'),
  worker: join(ROOT, 'dist/apps/worker/src/main.js'),
  launcher: join(ROOT, 'dist/apps/worker/src/launcher.js'),
  stack: join(ROOT, 'dist/apps/stack/src/main.js'),
};

export type AppName = keyof typeof ENTRY;

/** Starts one of the apps from dist/ with only PATH, HOME and `env` in its environment; its output is captured. */
export function spawnApp(name: AppName, env: Record<string, string>, args: string[] = []): AppProcess {
  const entry = ENTRY[name];
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build (npm test and npm run bench do)`);
  return startProcess({
    name,
    command: process.execPath,
    args: [entry, ...args],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
}
