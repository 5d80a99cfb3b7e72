import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Pair } from '@rerank/engine';

export class InputError extends Error {}

/** One JSON line: `{"query": ..., "passage": ...}` or `[query, passage]`. */
export function parsePairLine(line: string, lineNumber: number): Pair {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new InputError(`line ${lineNumber}: not JSON (${(e as Error).message}); each line must be {"query": "...", "passage": "..."}`);
  }
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string')
    return [value[0], value[1]];
  const o = value as { query?: unknown; passage?: unknown } | null;
  if (o && typeof o === 'object' && typeof o.query === 'string' && typeof o.passage === 'string') return [o.query, o.passage];
  throw new InputError(`line ${lineNumber}: expected {"query": "...", "passage": "..."} with two strings`);
}

/** Reads pairs from a JSON-lines file (or stdin for "-" / none) in chunks of `chunkSize`. */
export async function* readPairChunks(path: string | undefined, chunkSize: number): AsyncGenerator<Pair[]> {
  const input = path && path !== '-' ? createReadStream(path, 'utf8') : process.stdin;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let chunk: Pair[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    chunk.push(parsePairLine(line, n));
    if (chunk.length >= chunkSize) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

/** Non-blank lines of a file: the pairs to expect (for the progress bar's total). */
export async function countPairLines(path: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) if (line.trim() !== '') n++;
  return n;
}
