/**
 * Environment variables as fields of zod objects. `envVar` declares one variable (name, value type,
 * default, which processes read it, doc); `section` groups the variables one part of the service
 * reads into a zod object (optionally deriving values from several of them), so the section's type
 * is zod's output type. `readSections` builds each section's input from an environment (blank is
 * unset; unset is the default) and turns zod's issues into messages that name the variable.
 */
import { z } from 'zod';
import type { ValueType } from './values';

/** The processes of the service, as the docs and the deploy checks name them. */
export const PROCESSES = ['api', 'launcher', 'worker', 'aggregator', 'stack', 'cli', 'harness'] as const;
export type ProcessName = (typeof PROCESSES)[number];

export type Env = Record<string, string | undefined>;

interface VarDoc {
  /** Which processes read it. A variable declared for any process is known to all of them. */
  readers: readonly ProcessName[];
  doc: string;
}

export interface EnvVar<F extends z.ZodType = z.ZodType> extends VarDoc {
  readonly name: string;
  readonly type: ValueType<unknown>;
  /** The default as text, read by `type` like a set value. */
  readonly default?: string;
  /** What applies while unset, in words, for a variable without a default (the docs' default column). */
  readonly unset?: string;
  /** The field of the section's zod object: `type`, optional when there is no default. */
  readonly field: F;
}

export function envVar<T>(name: string, type: ValueType<T>, doc: VarDoc & { default: string }): EnvVar<z.ZodType<T, string>>;
export function envVar<T>(name: string, type: ValueType<T>, doc: VarDoc & { unset: string }): EnvVar<z.ZodOptional<z.ZodType<T, string>>>;
export function envVar<T>(name: string, type: ValueType<T>, doc: VarDoc & { default?: string; unset?: string }): EnvVar {
  return { name, type, ...doc, field: doc.default === undefined ? type.schema.optional() : type.schema };
}

type Vars = Record<string, EnvVar>;
type ObjectOf<V extends Vars> = z.ZodObject<{ [K in keyof V]: V[K]['field'] }>;
/** A section's values as its variables give them. */
export type ValuesOf<V extends Vars> = z.output<ObjectOf<V>>;

export interface Section<V extends Vars = Vars, T = unknown> {
  readonly vars: V;
  readonly schema: z.ZodType<T, Record<string, string | undefined>>;
}

/** A section: its variables by config key; `derive` makes values that several variables give together. */
export function section<V extends Vars>(vars: V): Section<V, ValuesOf<V>>;
export function section<V extends Vars, T>(vars: V, derive: (values: ValuesOf<V>, ctx: z.RefinementCtx) => T): Section<V, T>;
export function section<V extends Vars, T>(vars: V, derive?: (values: ValuesOf<V>, ctx: z.RefinementCtx) => T): Section {
  const object = z.object(Object.fromEntries(Object.entries(vars).map(([key, v]) => [key, v.field]))) as unknown as ObjectOf<V>;
  return { vars, schema: (derive ? object.transform(derive) : object) as Section['schema'] };
}

type Sections = Record<string, Section>;

/** Every variable of `sections`, in declaration order, with the section that reads it. */
export function declaredVars(sections: Sections): (EnvVar & { section: string })[] {
  return Object.entries(sections).flatMap(([section, { vars }]) => Object.values(vars).map((v) => ({ ...v, section })));
}

/** A variable's value as set: undefined when unset or blank. */
export function rawValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The input of each section: every variable's text as set, or its default. */
export function sectionInputs(sections: Sections, env: Env): Record<string, Record<string, string | undefined>> {
  const input = (vars: Vars) => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, rawValue(env, v.name) ?? v.default]));
  return Object.fromEntries(Object.entries(sections).map(([s, { vars }]) => [s, input(vars)]));
}

/**
 * zod's issues as messages. An issue on a variable (path: section, key, then any part of a
 * structured value) is prefixed with the variable's name and, for a quoted type, its value and
 * default; an issue on a whole section or the whole configuration names its variables itself.
 */
export function issueMessages(error: z.ZodError, sections: Sections, env: Env): string[] {
  return error.issues.map((issue) => {
    const [s, key, ...rest] = issue.path;
    const v = key === undefined ? undefined : sections[String(s)]?.vars[String(key)];
    if (!v) return issue.message;
    const where = v.name + rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    if (!v.type.quoted) return `${where}: ${issue.message}`;
    const fallback = v.default === undefined ? '' : ` (default ${v.default})`;
    return `${where}=${JSON.stringify(rawValue(env, v.name))}: ${issue.message}${fallback}`;
  });
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

/** The name in `names` closest to `name` (ties: the first). */
export function closestName(name: string, names: readonly string[]): string {
  let best = names[0];
  let bestDistance = Infinity;
  for (const n of names) {
    const d = editDistance(name, n);
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best;
}

/**
 * `RERANK_*` variables set in `env` that no process declares: a misspelling would otherwise be
 * ignored silently and its default used. Each message names the closest declared variable.
 */
export function unknownVariables(declared: readonly string[], env: Env): string[] {
  const known = new Set(declared);
  return Object.keys(env)
    .filter((name) => name.startsWith('RERANK_') && !known.has(name) && env[name] !== undefined)
    .sort()
    .map(
      (name) =>
        `${name}: unknown variable, no process reads it; did you mean ${closestName(name, declared)}? (every variable: docs/deploy.md, Configuration)`,
    );
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
