export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = Record<string, unknown>;

/** "a number (5)", "a string", "null", "a list", "an object" — for "got ..." in messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? `a string ("${v.slice(0, 37)}...")` : `a string (${JSON.stringify(v)})`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `${v}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** snake_case → camelCase, for "did you mean" hints. */
export function toCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A copy of a request object without its `null` fields: clients (LangChain, generated SDKs) send
 * `null` for "not set", so null means absent everywhere, except in `keep` (fields where null has a
 * meaning of its own, e.g. an engine option's "none").
 */
export function withoutNulls(obj: JsonObject, keep: readonly string[] = []): JsonObject {
  // Object.fromEntries defines own properties: a "__proto__" key stays a key (refused as unknown) instead of
  // becoming the copy's prototype, whose fields would then read as if the client had sent them.
  return Object.fromEntries(Object.entries(obj).filter(([k, v]) => v !== null || keep.includes(k)));
}
