import type { DecoderPartLengths, Family } from '@rerank/engine';
import type { Limits } from '../config';
import type { CompressionOffer } from '../model-facts';
import { invalid, overLimit } from '../errors';
import { describe, isObject } from './common';

export type ItemId = string | number;

export interface KnownModel {
  name: string;
  family?: Family;
  /** Layers with scores (layer-wise / light-weight), when known: cutoff_layers must be among them. */
  layers?: number[];
  /** Light-weight: exported compression settings, when known. */
  compression?: CompressionOffer[];
  /** Engine constructor options from RERANK_MODELS (defaults of per-call options). */
  options?: Record<string, unknown>;
  /** The model's position limit, when known: max_length beyond what fits is a 400. */
  maxPositions?: number;
  /** LLM families: bos / separator / default prompt token counts, when known. */
  decoderParts?: DecoderPartLengths;
}

export interface ValidationContext {
  limits: Limits;
  models: readonly KnownModel[];
}

/** The model a request names (or the only one configured when it names none). */
export function pickModel(value: unknown, models: readonly KnownModel[]): KnownModel {
  const names = models.map((m) => `"${m.name}"`).join(', ');
  if (value === undefined) {
    if (models.length === 1) return models[0];
    throw invalid('model', `missing; name one of the served models: ${names} (GET /v1/models lists them)`);
  }
  if (typeof value !== 'string') throw invalid('model', `expected a model name (string), got ${describe(value)}; served models: ${names}`);
  const found = models.find((m) => m.name === value);
  if (!found) throw invalid('model', `unknown model "${value.length > 100 ? value.slice(0, 100) + '...' : value}"; served models: ${names} (GET /v1/models lists them)`);
  return found;
}

export function checkId(v: unknown, field: string): ItemId {
  if (typeof v === 'string') {
    if (v.length === 0 || v.length > 256) throw invalid(field, `expected an id of 1 to 256 characters, got ${v.length}`);
    return v;
  }
  if (isSafeInt(v)) return v;
  throw invalid(field, `expected a string or an integer, got ${describe(v)}`);
}

function isSafeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

export function checkText(v: unknown, field: string, limits: Limits, what: string, allowEmpty: boolean): string {
  if (typeof v !== 'string') throw invalid(field, `expected ${what} as a string, got ${describe(v)}`);
  if (!allowEmpty && v.trim() === '') throw invalid(field, `must not be empty; send the ${what} text`);
  if (v.length > limits.maxDocumentChars) {
    throw overLimit(field, `${v.length} characters`, { name: 'characters per text', value: limits.maxDocumentChars, env: 'RERANK_MAX_DOCUMENT_CHARS' }, 'shorten or split the text');
  }
  return v;
}

/**
 * A list of documents (strings or `{id?, text}`), appended to `texts` / `ids`.
 * `withIds` false (sync endpoints) accepts `{text}` only.
 */
export function readDocuments(
  value: unknown,
  field: string,
  limits: Limits,
  texts: string[],
  ids: (ItemId | null)[],
  withIds: boolean,
  /** Documents already read for this request (for the per-job limit). */
  before: number,
): void {
  if (value === undefined) throw invalid(field, 'missing; send a list of documents (strings or {"text": "..."})');
  if (!Array.isArray(value)) throw invalid(field, `expected a list of documents (strings or {"text": "..."}), got ${describe(value)}`);
  if (value.length === 0) throw invalid(field, 'the list is empty; send at least one document');
  if (before + value.length > limits.maxDocuments) {
    throw overLimit(field, `${before + value.length} documents`, { name: 'documents per request', value: limits.maxDocuments, env: 'RERANK_MAX_DOCUMENTS' }, 'split the work into several jobs');
  }
  const shape = withIds ? 'a string or {"id"?: ..., "text": "..."}' : 'a string or {"text": "..."}';
  /** Index in this list of each id seen: results are looked up by id, so ids are unique per set. */
  const seen = new Map<ItemId, number>();
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    const where = `${field}[${i}]`;
    if (typeof item === 'string') {
      texts.push(checkText(item, where, limits, 'document', true));
      ids.push(null);
      continue;
    }
    if (!isObject(item)) throw invalid(where, `expected ${shape}, got ${describe(item)}`);
    for (const key of Object.keys(item)) {
      if (key !== 'text' && !(withIds && key === 'id')) throw invalid(`${where}.${key}`, `unknown field; a document is ${shape}`);
    }
    if (item.text === undefined) throw invalid(`${where}.text`, `missing; a document is ${shape}`);
    texts.push(checkText(item.text, `${where}.text`, limits, 'document', true));
    if (item.id === undefined) {
      ids.push(null);
      continue;
    }
    const id = checkId(item.id, `${where}.id`);
    const first = seen.get(id);
    if (first !== undefined) {
      throw invalid(`${where}.id`, `duplicate document id ${JSON.stringify(id)}: ${field}[${first}] has the same id; give every document of a list its own id (or none)`);
    }
    seen.set(id, i);
    ids.push(id);
  }
}
