import { createReadStream } from 'node:fs';
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
  const lines = jsonLines(input);
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
  for await (const line of jsonLines(createReadStream(path, 'utf8'))) if (line.trim() !== '') n++;
  return n;
}

/**
 * The lines of a JSON Lines stream: split at "\n" only (a "\r" before it dropped). Not node:readline:
 * Node 24's also ends lines at U+2028 and U+2029 (Node 20's did not), and JSON.stringify leaves those in strings
 * unescaped, so a text holding one would be cut in two.
 */
export async function* jsonLines(input: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of input) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  rest += decoder.decode();
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}
