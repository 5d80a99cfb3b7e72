/**
 * Byte-level BPE tokenizer for the decoder families (Gemma-like special ids). Vocabulary order:
 *   0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>; 4 + 2i: "Ġ" + CORE_WORDS[i]; 5 + 2i: CORE_WORDS[i] (bare);
 *   then the 256 byte symbols not already present (byte order); then the intermediate tokens the merges
 *   create; then "Ġ" + pseudo-words (and their intermediates) up to vocabSize.
 *
 * Merges are built greedily: each word is run through BPE with the merges so far and, while it is more
 * than one token, one merge is appended (a pair whose concatenation is already a token when there is one,
 * else the leftmost pair). Appending at the lowest priority never changes how earlier words tokenize
 * (their merge sequences finish before the new merge could apply), so every vocabulary word stays ONE
 * token. Any text tokenizes: every byte has a symbol.
 */
import { addedTokensDecoder, addToken, specialToken, TokenizerFiles, tooSmall } from './common';
import { CORE_WORDS, pseudoWord } from './vocab';

const SPECIALS = ['<pad>', '<eos>', '<bos>', '<unk>'];

/** GPT-2's byte → printable character table (the ByteLevel pre-tokenizer's alphabet). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const table = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(direct.includes(b) ? b : 256 + n++);
  return table;
})();

const encoder = new TextEncoder();

/** A word as byte-level symbols (" what" → "Ġwhat"). */
export function byteLevel(text: string): string {
  return Array.from(encoder.encode(text), (b) => BYTE_TO_CHAR[b]).join('');
}

class MergeBuilder {
  readonly merges: [string, string][] = [];
  private readonly ranks = new Map<string, number>();

  /** The vocabulary may not grow past this size. */
  limit = Infinity;

  constructor(
    private readonly list: string[],
    private readonly index: Map<string, number>,
  ) {}

  private rank(a: string, b: string): number | undefined {
    return this.ranks.get(`${a}\u0000${b}`);
  }

  /** BPE of `word` with the current merges: lowest rank first, leftmost on ties. */
  apply(word: string): string[] {
    const parts = Array.from(word);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.rank(parts[i], parts[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return parts;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
  }

  /** Adds merges until `word` is one token; false when the vocabulary filled up first. */
  makeSingle(word: string): boolean {
    for (;;) {
      const parts = this.apply(word);
      if (parts.length === 1) return true;
      let at = parts.findIndex((p, i) => i + 1 < parts.length && this.index.has(p + parts[i + 1]));
      if (at < 0) at = 0;
      const merged = parts[at] + parts[at + 1];
      if (!this.index.has(merged)) {
        if (this.list.length >= this.limit) return false;
        addToken(this.list, this.index, merged);
      }
      this.ranks.set(`${parts[at]}\u0000${parts[at + 1]}`, this.merges.length);
      this.merges.push([parts[at], parts[at + 1]]);
    }
  }
}

export interface BpeOptions {
  vocabSize: number;
  maxLength: number;
  paddingSide: 'left' | 'right';
}

export function bpeTokenizer(o: BpeOptions): TokenizerFiles {
  const list: string[] = [];
  const index = new Map<string, number>();
  for (const t of SPECIALS) addToken(list, index, t);
  for (const w of CORE_WORDS) {
    addToken(list, index, byteLevel(' ' + w));
    addToken(list, index, byteLevel(w));
  }
  for (const c of BYTE_TO_CHAR) addToken(list, index, c);

  // Core words first (bare, then spaced: "Ġ" + an existing bare token is one merge), unlimited.
  const builder = new MergeBuilder(list, index);
  for (const w of CORE_WORDS) builder.makeSingle(byteLevel(w));
  for (const w of CORE_WORDS) builder.makeSingle(byteLevel(' ' + w));
  if (list.length > o.vocabSize) throw tooSmall('bpe', o.vocabSize, list.length);
  builder.limit = o.vocabSize;
  for (let i = 0; list.length < o.vocabSize; i++) builder.makeSingle(byteLevel(' ' + pseudoWord(i)));
  return bpeFiles(list, index, builder.merges, o);
}

function bpeFiles(list: string[], index: Map<string, number>, merges: [string, string][], o: BpeOptions): TokenizerFiles {
  const vocab: Record<string, number> = {};
  list.forEach((t, i) => (vocab[t] = i));
  const added = SPECIALS.map((t, i) => specialToken(i, t));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      // Gemma-like: <bos> before single sequences (the reranker families add it themselves, untemplated).
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<bos>': { id: '<bos>', ids: [2], tokens: ['<bos>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'GemmaTokenizer',
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false,
    model_max_length: o.maxLength,
    padding_side: o.paddingSide,
    clean_up_tokenization_spaces: false,
    added_tokens_decoder: addedTokensDecoder(added),
  };
  return { tokenizer, tokenizerConfig, special: { pad: 0, eos: 1, bos: 2, unk: 3 }, vocab: index, vocabSize: list.length };
}
