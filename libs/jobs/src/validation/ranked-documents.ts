/**
 * Documents of a synchronous rerank request (Cohere v1 / Jina): strings, or objects with any fields.
 * An object is scored by its `text`, or, with `rank_fields`, by the chosen fields in that order as
 * Cohere formats semi-structured documents: one `field: value` line per field (YAML-like).
 */
import type { Limits } from '../config';
import { invalid, overLimit } from '../errors';
import { describe, isObject } from './common';
import { checkText } from './documents';

export interface RankedDocuments {
  texts: string[];
  originals: Record<string, unknown>[];
}

function readRankFields(v: unknown): string[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length === 0 || !v.every((f) => typeof f === 'string' && f.length > 0 && f.length <= 256)) {
    throw invalid('rank_fields', `expected a non-empty list of field names (strings), e.g. ["title", "text"], got ${describe(v)}`);
  }
  const fields = v as string[];
  const dup = fields.find((f, i) => fields.indexOf(f) !== i);
  if (dup !== undefined) throw invalid('rank_fields', `"${dup}" is listed twice; name each field once`);
  return fields;
}

function fieldValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The text a document object is ranked by. */
function rankedText(doc: Record<string, unknown>, fields: string[] | null, where: string): string {
  if (fields === null || (fields.length === 1 && fields[0] === 'text')) {
    if (doc.text === undefined || doc.text === null) throw invalid(`${where}.text`, 'missing; a document is a string or an object with "text" (or name the fields to rank by in rank_fields)');
    if (typeof doc.text !== 'string') throw invalid(`${where}.text`, `expected the document as a string, got ${describe(doc.text)}`);
    return doc.text;
  }
  const lines = fields.filter((f) => doc[f] !== undefined && doc[f] !== null).map((f) => `${f}: ${fieldValue(doc[f])}`);
  if (lines.length === 0) throw invalid(where, `has none of the rank_fields (${fields.join(', ')}); give every document at least one of them`);
  return lines.join('\n');
}

export function readRankedDocuments(value: unknown, rankFields: unknown, limits: Limits): RankedDocuments {
  const fields = readRankFields(rankFields);
  if (value === undefined) throw invalid('documents', 'missing; send a list of documents (strings or {"text": "..."})');
  if (!Array.isArray(value)) throw invalid('documents', `expected a list of documents (strings or {"text": "..."}), got ${describe(value)}`);
  if (value.length === 0) throw invalid('documents', 'the list is empty; send at least one document');
  if (value.length > limits.maxDocuments) {
    throw overLimit('documents', `${value.length} documents`, { name: 'documents per request', value: limits.maxDocuments, env: 'RERANK_MAX_DOCUMENTS' }, 'split the work into several requests');
  }
  const texts: string[] = [];
  const originals: Record<string, unknown>[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    const where = `documents[${i}]`;
    if (typeof item === 'string') {
      texts.push(checkText(item, where, limits, 'document', true));
      originals.push({ text: item });
      continue;
    }
    if (!isObject(item)) throw invalid(where, `expected a string or an object with "text", got ${describe(item)}`);
    const text = rankedText(item, fields, where);
    texts.push(checkText(text, fields === null ? `${where}.text` : where, limits, 'document', true));
    originals.push(item);
  }
  return { texts, originals };
}
