/**
 * Documents of a synchronous rerank request (Cohere v1 / Jina): strings, or objects with any fields.
 * An object is scored by its `text`, or, with `rank_fields`, by the chosen fields in that order as
 * Cohere formats semi-structured documents: one `field: value` line per field (YAML-like).
 */
import type { Limits } from '../config';
import { invalid, overLimit } from '../errors';
import { describe } from './common';
import { checkText } from './documents';
import type { FieldWords } from './issues';

export interface RankedDocuments {
  texts: string[];
  originals: Record<string, unknown>[];
}

/** A document of a synchronous request as the contract parsed it. */
export type RankedDocumentInput = string | ({ text?: string | null } & Record<string, unknown>);

/** Wording of documents and rank_fields of a synchronous request. */
export const RANKED_DOCUMENT_WORDS: Record<string, FieldWords> = {
  documents: {
    missing: 'send a list of documents (strings or {"text": "..."})',
    expect: 'a list of documents (strings or {"text": "..."})',
    empty: 'send at least one document',
  },
  'documents[]': { expect: 'a string or an object with "text"' },
  'documents[].text': { expect: 'the document as a string' },
  rank_fields: {
    whole: true,
    message: (v) => `expected a non-empty list of field names (strings), e.g. ["title", "text"], got ${describe(v)}`,
  },
};

function fieldValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A field of a document: its own properties only (an inherited name such as "toString" is no field). */
function ownField(doc: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(doc, name) ? doc[name] : undefined;
}

/** The text a document object is ranked by. */
function rankedText(doc: Record<string, unknown>, fields: readonly string[] | null, where: string): string {
  if (fields === null || (fields.length === 1 && fields[0] === 'text')) {
    const text = ownField(doc, 'text');
    if (text === undefined || text === null)
      throw invalid(
        `${where}.text`,
        'missing; a document is a string or an object with "text" (or name the fields to rank by in rank_fields)',
      );
    return text as string;
  }
  const present = fields.filter((f) => ownField(doc, f) !== undefined && ownField(doc, f) !== null);
  if (present.length === 0)
    throw invalid(where, `has none of the rank_fields (${fields.join(', ')}); give every document at least one of them`);
  return present.map((f) => `${f}: ${fieldValue(doc[f])}`).join('\n');
}

/** Parsed documents against the configured limits, and the text each is ranked by (rank_fields applied). */
export function readRankedDocuments(
  list: readonly RankedDocumentInput[],
  rankFields: readonly string[] | null | undefined,
  limits: Limits,
): RankedDocuments {
  const fields = rankFields ?? null;
  const dup = fields?.find((f, i) => fields.indexOf(f) !== i);
  if (dup !== undefined) throw invalid('rank_fields', `"${dup}" is listed twice; name each field once`);
  if (list.length > limits.maxDocuments) {
    throw overLimit(
      'documents',
      `${list.length} documents`,
      { name: 'documents per request', value: limits.maxDocuments, env: 'RERANK_MAX_DOCUMENTS' },
      'split the work into several requests',
    );
  }
  const texts: string[] = [];
  const originals: Record<string, unknown>[] = [];
  list.forEach((item, i) => {
    const where = `documents[${i}]`;
    if (typeof item === 'string') {
      texts.push(checkText(item, where, limits, 'document', true));
      originals.push({ text: item });
      return;
    }
    const text = rankedText(item, fields, where);
    texts.push(checkText(text, fields === null ? `${where}.text` : where, limits, 'document', true));
    originals.push(item);
  });
  return { texts, originals };
}
