/**
 * The engine's tokenizer against the reference's (Hugging Face `tokenizers` 0.19.1, Rust, through
 * `transformers` as FlagEmbedding loads it), on tokenizers built the way real ones are
 * (python/tokenization/make_tokenizers.py): token ids must be identical on
 * - every Unicode code point alone, in a word and between words,
 * - grapheme clusters (emoji sequences, flags, keycaps, combining marks, jamo, conjuncts, selectors),
 * - a seeded random corpus of 100,000 strings,
 * and the model input of a pair (truncation and layout) must be FlagEmbedding's.
 *
 * Inputs the reference provably treats independently are packed into one string, separated by a
 * special token it matches in the raw text (added tokens split the text before anything else runs, and
 * every piece is normalized and pre-tokenized on its own). Where a piece's position matters
 * (Metaspace's prepend_scheme "first"), single code points and corpus strings are sent one string each.
 *
 * Every code point is tried alone on every tokenizer, and also inside a word and between words on the
 * kinds the supported models carry (make_tokenizers.py's `sweep`): the reference needs about ten
 * seconds of CPU per tokenizer and context, and the tokenizers that only add pieces see those in the
 * corpus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@rerank/model-gen';
import { readTokenizerFiles } from '../../libs/engine/src/model/model-files';
import { decoderPrefix, DecoderSequences } from '../../libs/engine/src/sequences/decoder-sequences';
import { EncoderSequences } from '../../libs/engine/src/sequences/encoder-sequences';
import { TextTokenizer } from '../../libs/engine/src/tokenization/text-tokenizer';
import { LLM_DEFAULT_PROMPT, LLM_SEPARATOR } from '../../libs/engine/src/options';
import { allCodePoints, CONTEXTS, generatedClusters, GRAPHEME_CLUSTERS, randomCorpus } from './inputs';
import { Oracle, type ReferenceTokenizer, referenceTokenizers } from './reference';

jest.setTimeout(10 * 60_000);

const TOKENIZERS = referenceTokenizers();
const CORPUS_SIZE = 100_000;
const PAIRS = 2_000;
/** Inputs per packed string. */
const PACK = 256;

let oracle: Oracle;
beforeAll(() => {
  oracle = new Oracle();
});
afterAll(() => oracle.close());

/** Unambiguous text for a report: printable ASCII as is, everything else as \u{..}. */
function escape(s: string): string {
  let out = '';
  for (const c of s) {
    const cp = c.codePointAt(0) as number;
    out += cp >= 0x20 && cp < 0x7f && c !== '\\' ? c : `\\u{${cp.toString(16)}}`;
  }
  return `"${out}"`;
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i === a.length && i === b.length ? -1 : i;
}

/** Splits packed ids at the separator. */
function unpack(ids: readonly number[], separator: number): number[][] {
  const out: number[][] = [[]];
  for (const id of ids) {
    if (id === separator) out.push([]);
    else out[out.length - 1].push(id);
  }
  return out;
}

interface Mismatch {
  text: string;
  got: number[];
  expected: number[];
  at: number;
}

/** Throws with the first mismatches (escaped text, both id lists, first differing position). */
function report(t: ReferenceTokenizer, what: string, checked: number, mismatches: Mismatch[]): void {
  expect(checked).toBeGreaterThan(0);
  if (!mismatches.length) return;
  const shown = mismatches
    .slice(0, 8)
    .map(
      (m) =>
        `  ${escape(m.text)}\n    engine    ${JSON.stringify(m.got)}\n    reference ${JSON.stringify(m.expected)}\n    first difference at ${m.at}`,
    )
    .join('\n');
  throw new Error(`${t.name}, ${what}: ${mismatches.length} of ${checked} inputs tokenize differently:\n${shown}`);
}

function engineTokenizer(t: ReferenceTokenizer): TextTokenizer {
  return new TextTokenizer(readTokenizerFiles(t.dir));
}

/**
 * Encodes `inputs` on both sides, `PACK` to a string between separators when `packed`, and collects
 * the inputs whose ids differ.
 */
async function compare(t: ReferenceTokenizer, tokenizer: TextTokenizer, inputs: string[], packed: boolean): Promise<Mismatch[]> {
  const sep = t.separator;
  const sepId = tokenizer.tokenId(sep) as number;
  const texts: string[] = [];
  if (packed) for (let i = 0; i < inputs.length; i += PACK) texts.push(inputs.slice(i, i + PACK).join(sep));
  else for (const input of inputs) texts.push(input);
  const reference = oracle.encode(t.dir, texts);
  const ours = texts.map((s) => tokenizer.encode(s));
  const theirs = await reference;
  const mismatches: Mismatch[] = [];
  texts.forEach((text, k) => {
    if (firstDifference(ours[k], theirs[k]) < 0) return;
    if (!packed) {
      mismatches.push({ text, got: ours[k], expected: theirs[k], at: firstDifference(ours[k], theirs[k]) });
      return;
    }
    const segments = inputs.slice(k * PACK, (k + 1) * PACK);
    const a = unpack(ours[k], sepId);
    const b = unpack(theirs[k], sepId);
    if (a.length !== segments.length || b.length !== segments.length) {
      mismatches.push({ text, got: ours[k], expected: theirs[k], at: firstDifference(ours[k], theirs[k]) });
      return;
    }
    segments.forEach((segment, j) => {
      const at = firstDifference(a[j], b[j]);
      if (at >= 0) mismatches.push({ text: segment, got: a[j], expected: b[j], at });
    });
  });
  return mismatches;
}

/** The packing separator must split the raw text before anything else sees it. */
function checkSeparator(t: ReferenceTokenizer): void {
  const token = t.addedTokens.find((a) => a.content === t.separator);
  expect(token).toMatchObject({ special: true, lstrip: false, rstrip: false, single_word: false });
  expect(token?.normalized === false || !t.normalizes).toBe(true);
}

/** Metaspace with prepend_scheme "first": a piece's position in the text matters. */
function positionMatters(t: ReferenceTokenizer): boolean {
  return readFileSync(join(t.dir, 'tokenizer.json'), 'utf8').includes('"prepend_scheme": "first"');
}

const literals = [...new Set(TOKENIZERS.flatMap((t) => t.addedTokens.map((a) => a.content)))];
const corpus = randomCorpus(20240417, CORPUS_SIZE, literals);

describe.each(TOKENIZERS.map((t) => [t.name, t] as const))('%s', (_name, t) => {
  const tokenizer = engineTokenizer(t);
  const firstMatters = positionMatters(t);

  test(`every code point ${t.sweep === 'full' ? 'alone, and in a word and between words' : 'alone'}`, async () => {
    checkSeparator(t);
    const chars = allCodePoints().map((cp) => String.fromCodePoint(cp));
    const mismatches: Mismatch[] = [];
    let checked = 0;
    for (const [context, put] of Object.entries(CONTEXTS)) {
      if (t.sweep === 'alone' && context !== 'alone') continue;
      const inputs = chars.map(put);
      for (const m of await compare(t, tokenizer, inputs, true)) mismatches.push(m);
      checked += inputs.length;
      if (context === 'alone' && firstMatters) {
        for (const m of await compare(t, tokenizer, inputs, false)) mismatches.push(m);
        checked += inputs.length;
      }
    }
    report(t, 'code points', checked, mismatches);
  });

  test('grapheme clusters alone, and in a word and between words', async () => {
    const clusters = [...GRAPHEME_CLUSTERS, ...generatedClusters(7, 10_000)];
    const inputs = Object.values(CONTEXTS).flatMap((put) => clusters.map(put));
    report(t, 'grapheme clusters', inputs.length, await compare(t, tokenizer, inputs, true));
  });

  test(`${CORPUS_SIZE.toLocaleString('en')} random strings`, async () => {
    // Packed, but alone where a string's position matters or where it holds the separator's text.
    const alone = (s: string) => firstMatters || s.includes(t.separator);
    const packed = await compare(
      t,
      tokenizer,
      corpus.filter((s) => !alone(s)),
      true,
    );
    const single = await compare(t, tokenizer, corpus.filter(alone), false);
    report(t, 'random corpus', corpus.length, packed.concat(single));
  });

  test(`pair layout and truncation of ${PAIRS.toLocaleString('en')} pairs, as FlagEmbedding builds them`, async () => {
    const rng = new Rng(99);
    const prompt = LLM_DEFAULT_PROMPT;
    const sep = tokenizer.encode(LLM_SEPARATOR);
    const parts = { prefix: decoderPrefix('llm', tokenizer.bosId, tokenizer.padId), sep, prompt: tokenizer.encode(prompt) };
    const encoder = t.kind === 'encoder' ? new EncoderSequences(tokenizer.pairTemplate(), true) : undefined;
    const decoder = new DecoderSequences();
    // A few settings, from tight (the query fills the budget) to roomy; long texts from the corpus.
    const settings = [8, 16, 40, 128, 512].map((maxLength) => ({ maxLength, queryMaxLength: rng.range(1, maxLength) }));
    const mismatches: Mismatch[] = [];
    for (const limits of settings) {
      const pairs: [string, string][] = Array.from({ length: PAIRS / settings.length }, () => [rng.pick(corpus), rng.pick(corpus)]);
      const reference = oracle.pairs(t.dir, { kind: t.kind, pairs, ...limits, prompt });
      const ours = pairs.map(([q, p], i) => {
        const [a, b] = [tokenizer.encode(q), tokenizer.encode(p)];
        return encoder ? encoder.build(a, b, limits, 'only_second', i) : decoder.build(a, b, parts, limits, i);
      });
      const theirs = await reference;
      pairs.forEach(([q, p], i) => {
        const ids = Array.from(ours[i].ids);
        const at = firstDifference(ids, theirs.ids[i]);
        if (at >= 0)
          mismatches.push({
            text: `${q}\u2503${p} (maxLength ${limits.maxLength}, queryMaxLength ${limits.queryMaxLength})`,
            got: ids,
            expected: theirs.ids[i],
            at,
          });
        if (theirs.typeIds) {
          const types = Array.from(ours[i].typeIds ?? []);
          const typeAt = firstDifference(types, theirs.typeIds[i]);
          if (typeAt >= 0)
            mismatches.push({ text: `token type ids of ${q}\u2503${p}`, got: types, expected: theirs.typeIds[i], at: typeAt });
        }
      });
    }
    report(t, 'pairs', PAIRS, mismatches);
  });
});
