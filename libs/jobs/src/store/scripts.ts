/**
 * The Lua scripts of the service, each in its own file under ./lua, read once per process and
 * registered on a client on first use (ioredis sends EVALSHA, and EVAL when Redis lost the script).
 * The build copies ./lua next to the compiled file (scripts/copy-assets.js), so dist/ runs alone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

export interface LuaScript {
  /** The file name under ./lua, without `.lua`. */
  readonly file: string;
  readonly numberOfKeys: number;
}

export const SCRIPTS = {
  finish: { file: 'finish', numberOfKeys: 1 },
  startShard: { file: 'start-shard', numberOfKeys: 3 },
  claimActiveJob: { file: 'claim-active-job', numberOfKeys: 1 },
  fairWaiting: { file: 'fair-waiting', numberOfKeys: 2 },
  fairRetag: { file: 'fair-retag', numberOfKeys: 3 },
  fairUnlock: { file: 'fair-unlock', numberOfKeys: 1 },
} as const satisfies Record<string, LuaScript>;

const sources = new Map<string, string>();
const defined = new WeakMap<Redis, Set<string>>();

function source(script: LuaScript): string {
  let lua = sources.get(script.file);
  if (lua === undefined) {
    const path = join(__dirname, 'lua', `${script.file}.lua`);
    try {
      lua = readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(
        `Lua script ${path} is missing (${(e as Error).message}); rebuild with npm run build, which copies libs/jobs/src/store/lua into dist/`,
        { cause: e },
      );
    }
    sources.set(script.file, lua);
  }
  return lua;
}

/** ioredis command name of a script (prefixed: no clash with Redis's own commands). */
const commandName = (script: LuaScript) => `rerank_${script.file.replace(/-/g, '_')}`;

function define(redis: Redis, script: LuaScript): string {
  const name = commandName(script);
  let set = defined.get(redis);
  if (!set) defined.set(redis, (set = new Set()));
  if (!set.has(name)) {
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: source(script) });
    set.add(name);
  }
  return name;
}

/** Runs a script on a client: `keys` are its KEYS (as many as the script declares), `args` its ARGV. */
export function runScript(redis: Redis, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  if (keys.length !== script.numberOfKeys) throw new Error(`script ${script.file} takes ${script.numberOfKeys} key(s), got ${keys.length}`);
  const name = define(redis, script);
  return (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name](...keys, ...args);
}

/** Registers every script on a client (a pipeline or MULTI made afterwards can run them by name too). */
export function defineScripts(redis: Redis): void {
  for (const script of Object.values(SCRIPTS)) define(redis, script);
}

/** Every script's source (for a check that the build carried them). */
export function scriptSources(): Record<string, string> {
  return Object.fromEntries(Object.values(SCRIPTS).map((s) => [s.file, source(s)]));
}
