/**
 * The shared vocabulary source: CORE words at fixed, documented positions, symbols, and an endless
 * deterministic list of pseudo-words (syllable combinations) used to fill any vocabulary size.
 *
 * Token id of CORE_WORDS[i] (see each style's module):
 *   bert: 5 + i (the word itself)                 [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4
 *   xlmr: 4 + i ("▁" + word)                       <s>=0 <pad>=1 </s>=2 <unk>=3
 *   bpe:  4 + 2i ("Ġ" + word, after a space), 5 + 2i (bare word, at text start)
 *                                                  <pad>=0 <eos>=1 <bos>=2 <unk>=3
 * Capitalised entries exist for the case-sensitive styles (xlmr, bpe); in bert's lowercasing vocabulary
 * they are present but unreachable, kept so the formula is the same for every style.
 */
import { Rng } from '../weights';

export const CORE_WORDS: readonly string[] = [
  // the words tests hand-check
  'what', 'is', 'machine', 'learning', 'a', 'an', 'the', 'of', 'to', 'in', 'for', 'on', 'with', 'by', 'from',
  'ai', 'artificial', 'intelligence', 'subset', 'data', 'cooking', 'recipes', 'italian', 'pasta', 'dishes',
  'algorithms', 'learn', 'patterns', 'weather', 'forecast', 'next', 'week', 'python', 'programming',
  'yes', 'no', 'query', 'passage',
  // common function words, and the words of the families' default prompts
  'and', 'or', 'are', 'be', 'it', 'this', 'that', 'as', 'at', 'how', 'which', 'does', 'not', 'can',
  'given', 'determine', 'whether', 'contains', 'answer', 'providing', 'prediction', 'either', 'predict',
  'model', 'language', 'search', 'information', 'computer', 'science',
  // case-sensitive forms (the yes token of the decoder families is "Yes")
  'Yes', 'No', 'A', 'B', 'Given', 'Predict', 'What',
];

/** Digits and basic punctuation: single-character tokens in every style. */
export const CORE_SYMBOLS: readonly string[] = [
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
  '.', ',', '?', '!', "'", '"', '-', ':', ';', '(', ')', '/', '&', '%', '$', '+', '=', '@', '#', '*',
];

export const LOWER_LETTERS: readonly string[] = Array.from('abcdefghijklmnopqrstuvwxyz');
export const UPPER_LETTERS: readonly string[] = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ');

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z'];
const VOWELS = ['a', 'e', 'i', 'o', 'u'];

/** The 80 consonant+vowel syllables pseudo-words are made of. */
export const SYLLABLES: readonly string[] = ONSETS.flatMap((c) => VOWELS.map((v) => c + v));

const pseudoCache: string[] = [];
const pseudoSeen = new Set<string>(CORE_WORDS.map((w) => w.toLowerCase()));
const pseudoRng = new Rng(0x5eed);

/**
 * The first `n` pseudo-words: lowercase, 2–4 syllables, sometimes with a final consonant; a fixed
 * sequence (independent of any model seed), no duplicates, never a core word.
 */
export function pseudoWords(n: number): readonly string[] {
  while (pseudoCache.length < n) {
    const r = pseudoRng.next();
    const syllables = r < 0.45 ? 2 : r < 0.85 ? 3 : 4;
    let w = '';
    for (let i = 0; i < syllables; i++) w += pseudoRng.pick(SYLLABLES);
    if (pseudoRng.next() < 0.3) w += pseudoRng.pick(['n', 'r', 's', 't', 'l']);
    if (!pseudoSeen.has(w)) {
      pseudoSeen.add(w);
      pseudoCache.push(w);
    }
  }
  return pseudoCache.slice(0, n);
}

/** The i-th pseudo-word. */
export function pseudoWord(i: number): string {
  if (i >= pseudoCache.length) pseudoWords(Math.max(i + 1, 2 * pseudoCache.length));
  return pseudoCache[i];
}

/** Words for generated text: the lowercase core words, then pseudo-words. */
export function textWords(pseudoCount = 2000): string[] {
  return [...CORE_WORDS.filter((w) => w === w.toLowerCase()), ...pseudoWords(pseudoCount)];
}

export type TokenizerStyle = 'bert' | 'xlmr' | 'bpe';

/** Id of a core word's token; for bpe, `spaced` picks "Ġword" (default) or the bare form. */
export function coreWordId(style: TokenizerStyle, word: string, spaced = true): number {
  const i = CORE_WORDS.indexOf(word);
  if (i < 0) throw new Error(`not a core word: ${word}`);
  if (style === 'bert') return 5 + i;
  if (style === 'xlmr') return 4 + i;
  return spaced ? 4 + 2 * i : 5 + 2 * i;
}
