/**
 * Token budgets per document for the Cohere options that need the model's tokenizer (which only
 * workers load): `max_tokens_per_doc` cuts a document, `max_chunks_per_doc` splits a long one into
 * chunks that fit beside the query. Cuts fall on whitespace where possible, so a cut prefix
 * tokenizes as the start of the whole text.
 */

/** Token count of a text under the model's tokenizer (no special tokens). */
export type TokenCounter = (text: string) => Promise<number>;

/** Largest i in [lo, hi] with ok(i), given ok(lo) and ok monotone (true then false). */
async function lastTrue(lo: number, hi: number, ok: (i: number) => Promise<boolean>): Promise<number> {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (await ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Does not split a surrogate pair. */
function charBoundary(text: string, i: number): number {
  const c = text.charCodeAt(i - 1);
  return i > 0 && c >= 0xd800 && c <= 0xdbff ? i - 1 : i;
}

/**
 * The longest prefix of `text` of at most `maxTokens` tokens: ending before a whitespace when one
 * fits, else at a character (a first word longer than the budget). The whole text when it fits.
 */
export async function cutToTokens(text: string, maxTokens: number, count: TokenCounter): Promise<string> {
  // No tokenizer makes more tokens than UTF-8 bytes plus one (a leading word marker): skip the work.
  if (Buffer.byteLength(text) + 1 <= maxTokens) return text;
  if ((await count(text)) <= maxTokens) return text;
  const fits = async (end: number) => (await count(text.slice(0, end))) <= maxTokens;
  const spaces: number[] = [];
  for (let i = 1; i < text.length; i++) if (/\s/.test(text[i]) && !/\s/.test(text[i - 1])) spaces.push(i);
  if (spaces.length > 0 && (await fits(spaces[0]))) {
    const k = await lastTrue(0, spaces.length - 1, (j) => fits(spaces[j]));
    return text.slice(0, spaces[k]);
  }
  const end = await lastTrue(0, text.length, async (i) => i === 0 || fits(i));
  return text.slice(0, charBoundary(text, Math.max(end, 1)));
}

/**
 * `text` as consecutive chunks of at most `budget` tokens each (at most `maxChunks`; the rest of a
 * longer text is not scored, as Cohere's max_chunks_per_doc). A text that fits is one chunk: itself.
 */
export async function splitIntoChunks(text: string, budget: number, maxChunks: number, count: TokenCounter): Promise<string[]> {
  const chunks: string[] = [];
  let rest = text;
  while (chunks.length < maxChunks) {
    const chunk = await cutToTokens(rest, budget, count);
    chunks.push(chunk);
    if (chunk.length >= rest.length) break;
    rest = rest.slice(Math.max(chunk.length, 1)).trimStart();
    if (rest === '') break;
  }
  return chunks;
}

/**
 * The longest suffix of `text` of at most `maxTokens` tokens, starting after a whitespace when one
 * fits, else at a character (TEI's truncation_direction "Left": a document keeps its end).
 */
export async function keepLastTokens(text: string, maxTokens: number, count: TokenCounter): Promise<string> {
  if (Buffer.byteLength(text) + 1 <= maxTokens) return text;
  if ((await count(text)) <= maxTokens) return text;
  const fits = async (start: number) => (await count(text.slice(start))) <= maxTokens;
  // Word starts, latest first: the suffix from starts[j] shrinks as j grows.
  const starts: number[] = [];
  for (let i = text.length - 1; i > 0; i--) if (!/\s/.test(text[i]) && /\s/.test(text[i - 1])) starts.push(i);
  if (starts.length > 0 && (await fits(starts[0]))) {
    // Largest suffix that fits: the last j (earliest start) with fits(starts[j]).
    const k = await lastTrue(0, starts.length - 1, (j) => fits(starts[j]));
    return text.slice(starts[k]);
  }
  const from = await lastTrue(0, text.length - 1, async (i) => i === 0 || fits(text.length - i));
  const start = text.length - Math.max(from, 1);
  const c = text.charCodeAt(start);
  return text.slice(c >= 0xdc00 && c <= 0xdfff ? start + 1 : start);
}
