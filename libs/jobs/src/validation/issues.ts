/**
 * Runs a contract schema (../contract/http-bodies.ts) on a request body and turns the first zod issue
 * into our ValidationError, in our words: the issue's path becomes the field (`documents[3].id`), its
 * code and the value sent become "missing; ...", "expected ..., got ...", "the list is empty; ...",
 * "unknown field ...". The shape is checked by zod only; `FieldWords` hold nothing but wording.
 */
import { type Field, fieldProblem } from '@rerank/engine';
import type { z } from 'zod';
import { emptyInput, invalid, type ValidationError } from '../errors';
import { describe, toCamel } from './common';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** How a field's problems are worded. Patterns name list items `[]`: `documents[]`, `queries[].query`. */
export interface FieldWords {
  /** A contract field: its `expect` words and its own messages (fieldProblem). */
  field?: Field;
  /** What a valid value is: "expected <expect>, got <value>". */
  expect?: string;
  /** After "missing; ". */
  missing?: string;
  /** After "the list is empty; ". */
  empty?: string;
  /** The whole message for a value (overrides `expect`), e.g. lengths in the message. */
  message?: (value: unknown, issue: Issue) => string;
  /** Report any problem inside this field at the field itself (e.g. rank_fields' items). */
  whole?: boolean;
  /** Unknown keys of an object here: the message. */
  unknown?: string;
  /** Unknown keys of an object here: "unknown field in <unknownIn>; known fields: <known>". */
  unknownIn?: string;
  known?: readonly string[];
}

export interface BodyWords {
  /** Describes the body: "the request body must be a JSON object (...) <body>, got ...". */
  body: string;
  /** "unknown field in <what>". */
  what: string;
  known: readonly string[];
  fields: Record<string, FieldWords>;
}

/** `documents[3].id` from ['documents', 3, 'id']. */
export function fieldOf(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function patternOf(path: Path): string {
  return fieldOf(path.map((p) => (typeof p === 'number' ? 0 : p))).replace(/\[0\]/g, '[]');
}

function startsWith(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

/**
 * The issue a hand-written check would have met first. zod reports in document order (fields in
 * declaration order, items by index) but an object's unknown keys after its fields: those come first,
 * before anything inside that object.
 */
export function firstIssue(issues: readonly Issue[]): Issue | undefined {
  let first: Issue | undefined;
  for (const issue of issues) {
    if (!first) first = issue;
    else if (issue.code === 'unrecognized_keys' && first.code !== 'unrecognized_keys' && startsWith(first.path, issue.path)) first = issue;
  }
  return first;
}

/**
 * A union's issue resolved to the branch the value was meant for: the first branch that failed
 * below its top (the value had that branch's type) or with a problem other than its type there.
 * When every branch refused the value's type, the union's own issue stands.
 */
function resolveUnion(issue: Issue): Issue {
  if (issue.code !== 'invalid_union') return issue;
  for (const branch of issue.errors) {
    const inner = firstIssue(branch);
    if (!inner || (inner.code === 'invalid_type' && inner.path.length === 0)) continue;
    return resolveUnion({ ...inner, path: [...issue.path, ...inner.path] });
  }
  return issue;
}

function unknownKeyMessage(key: string, words: FieldWords | undefined, fallback: BodyWords, top: boolean): string {
  if (words?.unknown) return words.unknown;
  const known = words?.known ?? (top ? fallback.known : []);
  const snake = known.find((k) => toCamel(k) === key);
  if (snake) return `unknown field; did you mean "${snake}"? (fields are snake_case)`;
  return `unknown field in ${words?.unknownIn ?? fallback.what}; known fields: ${known.join(', ')}`;
}

/** What is wrong with a value, and whether it is an empty list that must have items. */
function valueProblem(issue: Issue, value: unknown, w: FieldWords): { message: string; empty: boolean } {
  if (w.field)
    return { message: fieldProblem(w.field, value)?.message ?? `expected ${w.field.expect}, got ${describe(value)}`, empty: false };
  if (issue.code === 'custom') return { message: issue.message, empty: false };
  if (value === undefined && w.missing) return { message: `missing; ${w.missing}`, empty: false };
  if (Array.isArray(value) && value.length === 0 && w.empty) return { message: `the list is empty; ${w.empty}`, empty: true };
  if (w.message) return { message: w.message(value, issue), empty: false };
  return { message: `expected ${w.expect ?? 'a valid value'}, got ${describe(value)}`, empty: false };
}

/** A value's problem as a ValidationError of `field`. */
function valueError(field: string, issue: Issue, value: unknown, w: FieldWords): ValidationError {
  const p = valueProblem(issue, value, w);
  return p.empty ? emptyInput(field, p.message) : invalid(field, p.message);
}

/** A value inside `body` at `path`. */
function valueAt(body: unknown, path: Path): unknown {
  let v: unknown = body;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** One zod issue of `body` as our ValidationError. */
export function issueToError(raw: Issue, words: BodyWords, body: unknown): ValidationError {
  const issue = resolveUnion(raw);
  if (issue.path.length === 0 && issue.code === 'invalid_type') {
    return invalid('', `the request body must be a JSON object (Content-Type: application/json) ${words.body}, got ${describe(body)}`);
  }
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return invalid(
      fieldOf([...issue.path, key]),
      unknownKeyMessage(key, words.fields[patternOf(issue.path)], words, issue.path.length === 0),
    );
  }
  // A field reported whole (its items' problems are its own): the shortest such prefix.
  for (let n = 1; n < issue.path.length; n++) {
    const w = words.fields[patternOf(issue.path.slice(0, n))];
    if (w?.whole)
      return valueError(
        fieldOf(issue.path.slice(0, n)),
        { ...issue, code: 'invalid_type' } as Issue,
        valueAt(body, issue.path.slice(0, n)),
        w,
      );
  }
  return valueError(fieldOf(issue.path), issue, valueAt(body, issue.path), words.fields[patternOf(issue.path)] ?? {});
}

/** The issues of `body` against `schema`, the one to report first (undefined: it fits), and the parsed body. */
export function runSchema<S extends z.ZodType>(schema: S, body: unknown): { data?: z.output<S>; issue?: Issue } {
  const r = schema.safeParse(body);
  return r.success ? { data: r.data } : { issue: firstIssue(r.error.issues) };
}

export function isTopLevel(issue: Issue): boolean {
  return issue.path.length === 0;
}

export type { Issue };
