/**
 * A request body through its contract schema: `null` fields dropped (null means absent), the schema
 * run by zod, the first issue reported in our words, and the model it names resolved. What needs
 * runtime context (configured limits, served models, the model's family and positions) is checked by
 * each route after this, on the parsed body.
 */
import type { z } from 'zod';
import { API_ENGINE_OPTIONS } from '@rerank/engine';
import { describe as describeValue, isObject, withoutNulls } from './common';
import { type KnownModel, pickModel } from './documents';
import { NULLABLE_ENGINE_FIELDS } from './engine-options';
import { type BodyWords, type FieldWords, isTopLevel, issueToError, runSchema } from './issues';

/** Wording of the fields every request body has: model and the engine options. */
export function commonFieldWords(models: readonly KnownModel[]): Record<string, FieldWords> {
  const names = models.map((m) => `"${m.name}"`).join(', ');
  const words: Record<string, FieldWords> = {
    model: { message: (v) => `expected a model name (string), got ${describeValue(v)}; served models: ${names}` },
  };
  // An option is one value (a list of layers included): a problem inside it is the option's.
  for (const o of API_ENGINE_OPTIONS) words[o.field] = { field: o.check, whole: true };
  return words;
}

export interface ParsedRequest<T> {
  body: T;
  model: KnownModel;
}

/**
 * Order of the first problem, as the API has always reported it: the body's own shape and unknown
 * fields, then the model, then the first issue inside the body.
 */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  input: unknown,
  words: BodyWords,
  models: readonly KnownModel[],
): ParsedRequest<z.output<S>> {
  const body = isObject(input) ? withoutNulls(input, NULLABLE_ENGINE_FIELDS) : input;
  const { data, issue } = runSchema(schema, body);
  if (issue && (isTopLevel(issue) || (issue.path.length === 1 && issue.path[0] === 'model'))) throw issueToError(issue, words, body);
  const model = pickModel((body as { model?: string }).model, models);
  if (issue) throw issueToError(issue, words, body);
  return { body: data as z.output<S>, model };
}
