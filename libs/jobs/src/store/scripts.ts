/**
 * The Lua scripts of the Redis adapters, each in its own file under ./lua named `<name>-<keys>.lua`
 * (BullMQ's convention: the number of KEYS is in the file name, declared nowhere else), read once
 * per process and registered on a client on first use (ioredis sends EVALSHA, and EVAL when Redis
 * lost the script). The build copies ./lua next to the compiled file (scripts/copy-assets.js), so
 * dist/ runs alone. Only the adapters in this folder and ../queue run them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

export type ScriptName =
  | 'finish'
  | 'activate'
  | 'idempotency-swap'
  | 'start-shard'
  | 'claim-active-job'
  | 'update-existing'
  | 'webhook-attempt'
  | 'fair-waiting'
  | 'fair-retag'
  | 'fair-unlock';

interface LuaScript {
  numberOfKeys: number;
  lua: string;
}

const LUA_DIR = join(__dirname, 'lua');
let loaded: Map<string, LuaScript> | undefined;
const defined = new WeakMap<Redis, Set<string>>();

/** Every script in ./lua by name (read once). */
function scripts(): Map<string, LuaScript> {
  if (loaded) return loaded;
  let files: string[];
  try {
    files = readdirSync(LUA_DIR);
  } catch (e) {
    throw new Error(
      `the Lua scripts are missing from ${LUA_DIR} (${(e as Error).message}); rebuild with npm run build, which copies libs/jobs/src/store/lua into dist/`,
      { cause: e },
    );
  }
  loaded = new Map();
  for (const file of files) {
    const m = /^(.+)-(\d+)\.lua$/.exec(file);
    if (m) loaded.set(m[1], { numberOfKeys: Number(m[2]), lua: readFileSync(join(LUA_DIR, file), 'utf8') });
  }
  return loaded;
}

function script(name: ScriptName): LuaScript {
  const s = scripts().get(name);
  if (!s) throw new Error(`no Lua script ${name}-<keys>.lua in ${LUA_DIR}; rebuild with npm run build`);
  return s;
}

/** ioredis command name of a script (prefixed: no clash with Redis's own commands). */
const commandName = (name: ScriptName) => `rerank_${name.replace(/-/g, '_')}`;

/** Runs a script on a client: `keys` are its KEYS (as many as its file name says), `args` its ARGV. */
export function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  const s = script(name);
  if (keys.length !== s.numberOfKeys) throw new Error(`script ${name} takes ${s.numberOfKeys} key(s), got ${keys.length}`);
  const command = commandName(name);
  let set = defined.get(redis);
  if (!set) defined.set(redis, (set = new Set()));
  if (!set.has(command)) {
    redis.defineCommand(command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    set.add(command);
  }
  return (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[command](...keys, ...args);
}

/** Every script's key count and source, by name (a check that the build carried them). */
export function scriptSources(): Record<string, { numberOfKeys: number; lua: string }> {
  return Object.fromEntries(scripts());
}
