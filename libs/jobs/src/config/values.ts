/**
 * The value types of environment variables, as zod schemas over the variable's text (trimmed, never
 * blank), each with its label for the docs. A type's messages are written to follow the variable's
 * name: "expected an integer from 1 to 64" becomes `RERANK_X="0": expected an integer from 1 to 64
 * (default 2)` for a `quoted` type; the others never echo the value (secrets, structured values:
 * their messages say which part is wrong), and a message may carry a path (`RERANK_MODELS[0].family`).
 */
import { resolve } from 'node:path';
import { z } from 'zod';

export interface ValueType<T> {
  readonly schema: z.ZodType<T, string>;
  /** The type in words, for the docs ("integer 1–65535", "fraction (0, 1]", ...). */
  readonly label: string;
  /** Messages quote the value as set, and the default. */
  readonly quoted: boolean;
}

const MAX_INT = Number.MAX_SAFE_INTEGER;

/** A whole number from `min` to `max`. */
export function int(min: number, max = MAX_INT): ValueType<number> {
  const expected = `expected an integer from ${min} to ${max}`;
  return {
    schema: z.string().regex(/^\d+$/, expected).transform(Number).pipe(z.number().min(min, expected).max(max, expected)),
    label: max === MAX_INT ? `integer ≥ ${min}` : `integer ${min}–${max}`,
    quoted: true,
  };
}

/** A fraction in (0, 1]. */
export function fraction(): ValueType<number> {
  const expected = 'expected a fraction above 0 and at most 1, e.g. 0.9';
  return {
    schema: z
      .string()
      .regex(/^(0|1)?(\.\d+)?$/, expected)
      .transform(Number)
      .pipe(z.number().gt(0, expected).lte(1, expected)),
    label: 'fraction (0, 1]',
    quoted: true,
  };
}

/** Any text; `minLength` for keys and secrets (never echoed). */
export function text(options: { minLength?: number; hint?: string } = {}): ValueType<string> {
  const min = options.minLength ?? 0;
  const hint = options.hint ? `; ${options.hint}` : '';
  return {
    schema: z.string().min(min, { error: (issue) => `at least ${min} characters, got ${(issue.input as string).length}${hint}` }),
    label: min ? `text, ≥ ${min} characters` : 'text',
    quoted: false,
  };
}

/** A URL with one of `schemes` (without the colon); `expected` says what to write. */
export function url(schemes: readonly string[], expected: string): ValueType<string> {
  const fits = (raw: string) => URL.canParse(raw) && schemes.includes(new URL(raw).protocol.replace(/:$/, ''));
  return {
    schema: z.string().refine(fits, `expected ${expected}`),
    label: `URL (${schemes.map((s) => `${s}://`).join(', ')})`,
    quoted: true,
  };
}

/** A memory size in Redis units (`512mb`, `2gb`, `0`). */
export function redisSize(): ValueType<string> {
  return {
    schema: z
      .string()
      .regex(/^\d+(b|kb|mb|gb|k|m|g)?$/i, 'expected a size in Redis units, e.g. 512mb or 2gb (0: no limit, not recommended)'),
    label: 'size (Redis units: 512mb, 2gb)',
    quoted: true,
  };
}

/** On/off: 1, true, yes, on / 0, false, no, off (any case). */
export function flag(): ValueType<boolean> {
  return {
    schema: z.stringbool({
      truthy: ['1', 'true', 'yes', 'on'],
      falsy: ['0', 'false', 'no', 'off'],
      error: 'expected 1 or 0 (true/false, yes/no, on/off)',
    }),
    label: 'flag (1/0, true/false)',
    quoted: true,
  };
}

/** One of a few words (any case). */
export function oneOf<const W extends readonly [string, ...string[]]>(words: W, label?: string): ValueType<W[number]> {
  const list = `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
  return {
    schema: z
      .string()
      .toLowerCase()
      .pipe(z.enum(words, `expected ${list}`)),
    label: label ? `${label}: ${list}` : list,
    quoted: true,
  };
}

/** What a parser of a structured value finds: the value, and each problem with where it is (`[0]`, `.family`). */
export interface Parsed<T> {
  value: T;
  problems: { message: string; path?: (string | number)[] }[];
}

/** A structured value read by its own parser (lists, JSON); its messages never echo the whole value. */
export function parsed<T>(label: string, parse: (raw: string) => Parsed<T>): ValueType<T> {
  const schema = z.string().transform((raw, ctx) => {
    const { value, problems } = parse(raw);
    for (const p of problems) ctx.addIssue({ code: 'custom', message: p.message, path: p.path ?? [], input: raw });
    return value;
  });
  return { schema, label, quoted: false };
}

/** Comma-separated entries, trimmed, blanks dropped. */
export function commaList(raw: string): string[] {
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** A path, resolved against the working directory. */
export function directory(): ValueType<string> {
  return { schema: z.string().transform((raw) => resolve(raw)), label: 'directory', quoted: true };
}
