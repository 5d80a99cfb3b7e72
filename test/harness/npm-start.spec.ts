/**
 * `npm start` as people and process managers run it, through npm itself: dist/ is rebuilt only when the
 * sources changed, and SIGTERM or SIGINT to the npm process or to the stack's own node process stops every
 * process the stack started (workers drained, Redis last), leaving none of them behind.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startProcess } from '@rerank/harness';
import { freePort } from '@rerank/harness';
import { commandOf, type ProcessInfo, processTree, ROOT, waitFor, stackEnv } from '../support/processes';

jest.setTimeout(180000);

/** What the stack starts, each exactly once with RERANK_DEVICES=cpu. */
const STARTED = {
  redis: /^redis-server /,
  api: /dist\/apps\/api\/src\/main\.js$/,
  aggregator: /dist\/apps\/aggregator\/src\/main\.js$/,
  launcher: /dist\/apps\/worker\/src\/launcher\.js$/,
  worker: /dist\/apps\/worker\/src\/main\.js --device cpu$/,
};

describe('npm start: stop signals', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rerank-npm-start-'));
  const seen: ProcessInfo[] = [];
  let first = true;
  afterAll(() => {
    // A failed case may leave processes behind: end exactly those it saw, by pid.
    for (const p of seen) if (commandOf(p.pid) === p.command) process.kill(p.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['npm', 'SIGTERM'],
    ['npm', 'SIGINT'],
    ['stack', 'SIGTERM'],
    ['stack', 'SIGINT'],
  ] as const)('%s process gets %s: every process stops, Redis last, none is left', async (target, signal) => {
    const port = await freePort();
    const npm = startProcess({
      name: 'npm start',
      command: 'npm',
      args: ['--prefix', ROOT, 'start'],
      env: stackEnv(dataDir, port),
    });
    const ready = /"component":"stack".*"msg":"ready: http:\/\/127\.0\.0\.1:(\d+) /;
    await waitFor(
      'the stack to say ready',
      () => {
        if (!npm.running()) throw new Error(`npm start exited early:\n${npm.output().slice(-3000)}`);
        return ready.exec(npm.output())?.[1];
      },
      120000,
    );
    // The first start of this file may build (sources edited since the last build); the next ones must not.
    expect(npm.output()).toMatch(first ? /npm start: (dist\/ is current|the sources changed)/ : /npm start: dist\/ is current/);
    first = false;

    const tree = processTree(npm.proc.pid!);
    seen.push(...tree);
    const [npmProcess, stack, ...started] = tree;
    expect(npmProcess.command).toMatch(/npm/);
    expect(stack.command).toMatch(/node .*scripts\/start\.js$/);
    const roles = started.map((p) => Object.entries(STARTED).find(([, re]) => re.test(p.command))?.[0] ?? p.command);
    expect(roles.sort()).toEqual(Object.keys(STARTED).sort());

    process.kill(target === 'npm' ? npmProcess.pid : stack.pid, signal);
    expect(await npm.exited).toBe(0);
    expect(tree.filter((p) => commandOf(p.pid) === p.command)).toEqual([]);
    const out = npm.output();
    expect(out).toMatch(/\[api\] .*drained in \d+ ms/);
    expect(out).toMatch(/\[workers\] .*"msg":"stopping: finishing the shards being scored"/);
    expect(out.indexOf('stopping redis-server')).toBeGreaterThan(out.indexOf('all workers stopped'));
    expect(out).toMatch(/"component":"stack".*"msg":"stopped"/);
  });
});

describe('build fingerprint (scripts/build-fingerprint.js)', () => {
  const root = mkdtempSync(join(tmpdir(), 'rerank-fingerprint-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const current = () =>
    execFileSync(process.execPath, ['-p', `require(${JSON.stringify(join(root, 'scripts/build-fingerprint.js'))}).buildIsCurrent()`], {
      encoding: 'utf8',
    }).trim();
  const write = (file: string, text: string) => {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  };

  it('is current after a build and stale after any input file is edited, touched, added or removed', () => {
    mkdirSync(join(root, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/build-fingerprint.js'), join(root, 'scripts/build-fingerprint.js'));
    write('apps/api/src/main.ts', 'export {};\n');
    write('libs/jobs/src/config.ts', 'export const x = 1;\n');
    write('tsconfig.json', '{}\n');
    mkdirSync(join(root, 'dist'));
    expect(current()).toBe('false');
    execFileSync(process.execPath, [join(root, 'scripts/build-fingerprint.js')]);
    expect(current()).toBe('true');

    write('libs/jobs/src/config.ts', 'export const x = 2;\n');
    expect(current()).toBe('false');
    execFileSync(process.execPath, [join(root, 'scripts/build-fingerprint.js')]);
    expect(current()).toBe('true');
    utimesSync(join(root, 'apps/api/src/main.ts'), new Date(), new Date(Date.now() + 5000));
    expect(current()).toBe('false');
    execFileSync(process.execPath, [join(root, 'scripts/build-fingerprint.js')]);
    write('bench/src/new.ts', 'export {};\n');
    expect(current()).toBe('false');
    rmSync(join(root, 'bench'), { recursive: true });
    expect(current()).toBe('true');
    rmSync(join(root, 'tsconfig.json'));
    expect(current()).toBe('false');
  });
});
