/**
 * The machinery of the configuration schema: variable types (parse + a label for the docs), the
 * processes that read a variable, reading a whole schema from an environment, and the check that
 * refuses unknown `RERANK_*` variables with a did-you-mean. The variables themselves are declared
 * in config.ts (`CONFIG_VARS`).
 */

/** The processes of the service, as the docs and the deploy checks name them. */
export const PROCESSES = ['api', 'launcher', 'worker', 'aggregator', 'stack', 'cli', 'harness'] as const;
export type ProcessName = (typeof PROCESSES)[number];

/** How the docs' "used by" column names each process. */
export const PROCESS_LABELS: Record<ProcessName, string> = {
  api: 'API',
  launcher: 'launcher',
  worker: 'workers',
  aggregator: 'aggregator',
  stack: '`npm start`',
  cli: 'CLI',
  harness: 'tests, bench',
};

/** The outcome of parsing one value: the value, or the problems (each a whole message naming the variable). */
export interface Parsed<T> {
  value?: T;
  problems: string[];
}

export interface VarType<T> {
  /** The type in words, for the docs ("integer 1–65535", "fraction (0, 1]", ...). */
  readonly label: string;
  /** Parses a set value (trimmed, never blank). `fallback` is the declared default, for messages. */
  parse(raw: string, name: string, fallback: string | null): Parsed<T>;
}

/** One declared variable: see the entry format at the top of config.ts. */
export interface ConfigVar<T = unknown> {
  readonly name: string;
  readonly type: VarType<T>;
  /** The default as a string, parsed by `type`; null when there is none. */
  readonly default: string | null;
  /** What applies while unset, in words, where `default` cannot say it (the docs' default column). */
  readonly unset?: string;
  /** Which processes read it. A variable declared for any process is known to all of them. */
  readonly processes: readonly ProcessName[];
  readonly description: string;
}

/** The value type of a declaration: `T`, or `T | undefined` when it has no default. */
export type ValueOf<V> = V extends { type: VarType<infer T>; default: infer D } ? (D extends string ? T : T | undefined) : never;

/** The typed values of a schema, by variable name. */
export type ValuesOf<Vars extends readonly ConfigVar[]> = { [V in Vars[number] as V['name']]: ValueOf<V> };

export type Env = Record<string, string | undefined>;

const MAX_INT = Number.MAX_SAFE_INTEGER;
const withDefault = (fallback: string | null): string => (fallback ? ` (default ${fallback})` : '');
const ok = <T>(value: T): Parsed<T> => ({ value, problems: [] });
const bad = <T>(problem: string): Parsed<T> => ({ problems: [problem] });

/** A whole number from `min` to `max`. */
export function int(min: number, max = MAX_INT): VarType<number> {
  return {
    label: max === MAX_INT ? `integer ≥ ${min}` : `integer ${min}–${max}`,
    parse(raw, name, fallback) {
      if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
        return bad(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}${withDefault(fallback)}`);
      return ok(Number(raw));
    },
  };
}

/** A fraction in (0, 1]. */
export function fraction(): VarType<number> {
  return {
    label: 'fraction (0, 1]',
    parse(raw, name, fallback) {
      const n = Number(raw);
      if (!/^(0|1)?(\.\d+)?$/.test(raw) || !(n > 0 && n <= 1))
        return bad(`${name}=${JSON.stringify(raw)}: expected a fraction above 0 and at most 1, e.g. 0.9${withDefault(fallback)}`);
      return ok(n);
    },
  };
}

/** Any text; `minLength` for keys and secrets. */
export function text(options: { minLength?: number; hint?: string } = {}): VarType<string> {
  const min = options.minLength ?? 0;
  return {
    label: min ? `text, ≥ ${min} characters` : 'text',
    parse(raw, name) {
      if (raw.length < min) return bad(`${name}: at least ${min} characters, got ${raw.length}${options.hint ? `; ${options.hint}` : ''}`);
      return ok(raw);
    },
  };
}

/** A URL with one of `schemes` (without the colon); `expected` says what to write. */
export function url(schemes: readonly string[], expected: string): VarType<string> {
  return {
    label: `URL (${schemes.map((s) => `${s}://`).join(', ')})`,
    parse(raw, name) {
      try {
        if (schemes.includes(new URL(raw).protocol.replace(/:$/, ''))) return ok(raw);
      } catch {
        // reported below
      }
      return bad(`${name}=${JSON.stringify(raw)}: expected ${expected}`);
    },
  };
}

/** A memory size in Redis units (`512mb`, `2gb`, `0`). */
export function redisSize(): VarType<string> {
  return {
    label: 'size (Redis units: 512mb, 2gb)',
    parse(raw, name) {
      if (!/^\d+(b|kb|mb|gb|k|m|g)?$/i.test(raw))
        return bad(`${name}=${JSON.stringify(raw)}: expected a size in Redis units, e.g. 512mb or 2gb (0: no limit, not recommended)`);
      return ok(raw);
    },
  };
}

/** On/off: 1, true, yes, on / 0, false, no, off. */
export function flag(): VarType<boolean> {
  return {
    label: 'flag (1/0, true/false)',
    parse(raw, name) {
      if (/^(1|true|yes|on)$/i.test(raw)) return ok(true);
      if (/^(0|false|no|off)$/i.test(raw)) return ok(false);
      return bad(`${name}=${JSON.stringify(raw)}: expected 1 or 0 (true/false, yes/no, on/off)`);
    },
  };
}

/**
 * A structured value with its own parser (models, devices, host lists, ...). `parse` returns the
 * value and the problems, each naming the variable.
 */
export function custom<T>(label: string, parse: (raw: string, name: string) => Parsed<T>): VarType<T> {
  return { label, parse: (raw, name) => parse(raw, name) };
}

/** A variable's value as set: undefined when unset or blank. */
export function rawValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Reads one declared variable: its value (the default while unset), or its problems. */
export function readVar<V extends ConfigVar>(v: V, env: Env): Parsed<ValueOf<V>> {
  return readDeclared(v, env) as Parsed<ValueOf<V>>;
}

function readDeclared<T>(v: ConfigVar<T>, env: Env): Parsed<T> {
  const raw = rawValue(env, v.name);
  if (raw !== undefined) {
    const parsed = v.type.parse(raw, v.name, v.default);
    if (parsed.problems.length === 0 || parsed.value !== undefined) return parsed;
    // Invalid: report it, and go on with the default so that later checks stay meaningful.
    return { value: v.default === null ? undefined : v.type.parse(v.default, v.name, v.default).value, problems: parsed.problems };
  }
  return v.default === null ? ok(undefined as T) : v.type.parse(v.default, v.name, v.default);
}

/** Reads every variable of a schema: the typed values and all problems (unknown `RERANK_*` names included). */
export function readVars<const Vars extends readonly ConfigVar[]>(vars: Vars, env: Env): { values: ValuesOf<Vars>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems = unknownVariables(vars, env);
  for (const v of vars) {
    const parsed = readDeclared(v, env);
    values[v.name] = parsed.value;
    problems.push(...parsed.problems);
  }
  return { values: values as ValuesOf<Vars>, problems };
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/** The declared name closest to `name` (ties: the first declared). */
export function closestName(name: string, vars: readonly ConfigVar[]): string {
  let best = vars[0].name;
  let bestDistance = Infinity;
  for (const v of vars) {
    const d = editDistance(name, v.name);
    if (d < bestDistance) [best, bestDistance] = [v.name, d];
  }
  return best;
}

/**
 * `RERANK_*` variables set in `env` that no process declares: a misspelling would otherwise be
 * ignored silently and its default used. Each message names the closest declared variable.
 */
export function unknownVariables(vars: readonly ConfigVar[], env: Env): string[] {
  const known = new Set(vars.map((v) => v.name));
  return Object.keys(env)
    .filter((name) => name.startsWith('RERANK_') && !known.has(name) && env[name] !== undefined)
    .sort()
    .map(
      (name) =>
        `${name}: unknown variable, no process reads it; did you mean ${closestName(name, vars)}? (every variable: docs/deploy.md, Configuration)`,
    );
}
