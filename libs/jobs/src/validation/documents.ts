import type { DecoderPartLengths, Family, Truncation } from '@rerank/engine';
import type { Limits } from '../config';
import type { CompressionOffer } from '../model-facts';
import { emptyInput, invalid, overLimit } from '../errors';

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
  /** The max_length a request gets when it names none, when known. */
  maxLength?: number;
  truncation?: Truncation;
  /** qwen3: tokens of the default prompt's prefix and suffix, when known. */
  chatFrame?: number;
}

export interface ValidationContext {
  limits: Limits;
  models: readonly KnownModel[];
}

/** The model a request names (or the only one configured when it names none); its type is the contract's. */
export function pickModel(value: string | undefined, models: readonly KnownModel[]): KnownModel {
  const names = models.map((m) => `"${m.name}"`).join(', ');
  if (value === undefined) {
    if (models.length === 1) return models[0];
    throw invalid('model', `missing; name one of the served models: ${names} (GET /v1/models lists them)`);
  }
  const found = models.find((m) => m.name === value);
  if (!found)
    throw invalid(
      'model',
      `unknown model "${value.length > 100 ? value.slice(0, 100) + '...' : value}"; served models: ${names} (GET /v1/models lists them)`,
    );
  return found;
}

/** A text the contract accepted, against the configured length (413) and, unless `allowEmpty`, not blank. */
export function checkText(v: string, field: string, limits: Limits, what: string, allowEmpty: boolean): string {
  if (!allowEmpty && v.trim() === '') throw emptyInput(field, `must not be empty; send the ${what} text`);
  if (v.length > limits.maxDocumentChars) {
    throw overLimit(
      field,
      `${v.length} characters`,
      { name: 'characters per text', value: limits.maxDocumentChars, env: 'RERANK_MAX_DOCUMENT_CHARS' },
      'shorten or split the text',
    );
  }
  return v;
}

/** A document of a job as the contract parsed it. */
export type JobDocumentInput = string | { id?: ItemId; text: string };

/**
 * A parsed list of documents appended to `texts` / `ids`, checked against the configured limits
 * (documents per request, counting `before` already read; characters per text) and for ids used twice.
 */
export function readDocuments(
  list: readonly JobDocumentInput[],
  field: string,
  limits: Limits,
  texts: string[],
  ids: (ItemId | null)[],
  /** Documents already read for this request (for the per-job limit). */
  before: number,
): void {
  if (before + list.length > limits.maxDocuments) {
    throw overLimit(
      field,
      `${before + list.length} documents`,
      { name: 'documents per request', value: limits.maxDocuments, env: 'RERANK_MAX_DOCUMENTS' },
      'split the work into several jobs',
    );
  }
  /** Index in this list of each id seen: results are looked up by id, so ids are unique per set. */
  const seen = new Map<ItemId, number>();
  list.forEach((item, i) => {
    const where = `${field}[${i}]`;
    if (typeof item === 'string') {
      texts.push(checkText(item, where, limits, 'document', true));
      ids.push(null);
      return;
    }
    texts.push(checkText(item.text, `${where}.text`, limits, 'document', true));
    if (item.id === undefined) {
      ids.push(null);
      return;
    }
    const first = seen.get(item.id);
    if (first !== undefined) {
      throw invalid(
        `${where}.id`,
        `duplicate document id ${JSON.stringify(item.id)}: ${field}[${first}] has the same id; give every document of a list its own id (or none)`,
      );
    }
    seen.set(item.id, i);
    ids.push(item.id);
  });
}
