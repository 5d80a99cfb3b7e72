/**
 * A field of the contract: a zod schema (what is accepted) and the words for it ("an integer from 1
 * to 4096"), built by one helper so a range is written once and every message says the same range.
 * Engine messages read "must be <expect>, got <JSON>"; HTTP messages "expected <expect>, got <what>".
 */
import { z } from 'zod';

export interface Field<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** What a valid value is, in words, for "must be ..." / "expected ...". */
  expect: string;
}

/** The first problem with a value, or null when it fits. `custom` issues carry their own message. */
export interface FieldProblem {
  /** Set for problems that need their own words (a too-long text, a bad instruction format). */
  message?: string;
}

export function fieldProblem(f: Field, value: unknown): FieldProblem | null {
  const r = f.schema.safeParse(value);
  if (r.success) return null;
  const issue = r.error.issues[0];
  if (issue.code === 'custom' && issue.params?.own) return { message: issue.message };
  if (issue.code === 'too_big' && issue.origin === 'string' && typeof value === 'string') {
    return { message: `at most ${String(issue.maximum)} characters, got ${value.length}` };
  }
  return {};
}

const orNull = (nullable: boolean) => (nullable ? ' or null' : '');

export const fields = {
  bool(): Field<z.ZodBoolean> {
    return { schema: z.boolean(), expect: 'true or false' };
  },
  /** An integer from `min` to `max` (no upper bound when `max` is omitted). */
  int(min: number, max?: number): Field<z.ZodNumber> {
    const schema = max === undefined ? z.int().min(min) : z.int().min(min).max(max);
    const expect = max !== undefined ? `an integer from ${min} to ${max}` : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    return { schema, expect };
  },
  nullableInt(min: number, max?: number): Field<z.ZodNullable<z.ZodNumber>> {
    const f = fields.int(min, max);
    return { schema: f.schema.nullable(), expect: `${f.expect} or null` };
  },
  text(max?: number): Field<z.ZodString> {
    return { schema: max === undefined ? z.string() : z.string().max(max), expect: 'a string' };
  },
  nullableText(max?: number): Field<z.ZodNullable<z.ZodString>> {
    return { schema: fields.text(max).schema.nullable(), expect: `a string${orNull(true)}` };
  },
  /** One of a few integers (typed as a number: callers pass what users give). */
  oneOf(values: readonly number[], expect: string): Field<z.ZodNumber> {
    const schema = z
      .number()
      .refine((v) => values.includes(v))
      .meta({ enum: [...values] });
    return { schema, expect };
  },
  /** One of a few strings. */
  oneOfText<T extends string>(values: readonly T[]): Field<z.ZodType<T, T>> {
    return { schema: z.enum(values as [T, ...T[]]), expect: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}` };
  },
  /** An object of texts (each at most `max` characters), every key required, or null. */
  nullableTexts<K extends string>(keys: readonly K[], max?: number): Field<z.ZodNullable<z.ZodObject<Record<K, z.ZodString>>>> {
    const shape = Object.fromEntries(keys.map((k) => [k, fields.text(max).schema])) as Record<K, z.ZodString>;
    return { schema: z.strictObject(shape).nullable(), expect: `an object {${keys.join(', ')}} of strings, or null` };
  },
  /** A non-empty list of layer numbers, or null. */
  layers(opts: { maxItems?: number; maxLayer?: number; expect: string }): Field<z.ZodNullable<z.ZodArray<z.ZodNumber>>> {
    let item = z.int().min(0);
    if (opts.maxLayer !== undefined) item = item.max(opts.maxLayer);
    let list = z.array(item).min(1);
    if (opts.maxItems !== undefined) list = list.max(opts.maxItems);
    return { schema: list.nullable(), expect: opts.expect };
  },
};

/** Adds a check the schema cannot say (e.g. "the instruction format parses"): `check` returns a message, or null when fine. */
export function refined<S extends z.ZodType>(f: Field<S>, check: (value: z.output<S>) => string | null): Field<S> {
  const schema = f.schema.superRefine((v, ctx) => {
    const message = check(v);
    if (message !== null) ctx.addIssue({ code: 'custom', message, params: { own: true } });
  });
  return { schema, expect: f.expect };
}
