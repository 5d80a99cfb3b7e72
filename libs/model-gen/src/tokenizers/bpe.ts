/**
 * Byte-level BPE tokenizers in three flavors (the special tokens, pre-tokenizer and template of the
 * models that use one): `gemma` (the LLM families: <pad> <eos> <bos> <unk>), `qwen` (Qwen2 / Qwen3:
 * NFC, the Qwen2 split regex, the chat tokens <|endoftext|> (pad) <|im_start|> <|im_end|> <think>
 * </think>, no bos, no template) and `modernbert` (NFC, GPT-2 byte-level split, [UNK] [CLS] [SEP]
 * [PAD] [MASK] and the [CLS] A [SEP] B [SEP] template). Vocabulary order:
 *   0..3 the flavor's first four special tokens; 4 + 2i: "Ġ" + CORE_WORDS[i]; 5 + 2i: CORE_WORDS[i] (bare);
 *   then the 256 byte symbols not already present (byte order); then the intermediate tokens the merges
 *   create; then "Ġ" + pseudo-words (and their intermediates); its further special tokens last, up to vocabSize.
 *
 * Merges are built greedily: each word is run through BPE with the merges so far and, while it is more
 * than one token, one merge is appended (a pair whose concatenation is already a token when there is one,
 * else the leftmost pair). Appending at the lowest priority never changes how earlier words tokenize
 * (their merge sequences finish before the new merge could apply), so every vocabulary word stays ONE
 * token. Any text tokenizes: every byte has a symbol.
 */
import { addedTokensDecoder, addToken, clsSepTemplate, SpecialTokenIds, specialToken, TokenizerFiles, tooSmall } from './common';
import { CORE_WORDS, pseudoWord } from './vocab';

export type BpeFlavor = 'gemma' | 'qwen' | 'modernbert';

/** Qwen2's pre-tokenizer split (its tokenizer.json's Split regex). */
export const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface Flavor {
  /** Ids 0..3. */
  first: readonly [string, string, string, string];
  /** Special tokens after the vocabulary (the last ids). */
  last: readonly string[];
  /** Added tokens that are not special (Qwen's <think> tags). */
  plain: readonly string[];
}

const FLAVORS: Record<BpeFlavor, Flavor> = {
  gemma: { first: ['<pad>', '<eos>', '<bos>', '<unk>'], last: [], plain: [] },
  qwen: { first: ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>'], last: ['</think>'], plain: ['<think>', '</think>'] },
  modernbert: { first: ['[UNK]', '[CLS]', '[SEP]', '[PAD]'], last: ['[MASK]'], plain: [] },
};

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
  /** Default gemma. */
  flavor?: BpeFlavor;
}

export function bpeTokenizer(o: BpeOptions): TokenizerFiles {
  const list: string[] = [];
  const index = new Map<string, number>();
  const flavor = FLAVORS[o.flavor ?? 'gemma'];
  for (const t of flavor.first) addToken(list, index, t);
  for (const w of CORE_WORDS) {
    addToken(list, index, byteLevel(' ' + w));
    addToken(list, index, byteLevel(w));
  }
  for (const c of BYTE_TO_CHAR) addToken(list, index, c);

  // Core words first (bare, then spaced: "Ġ" + an existing bare token is one merge), unlimited.
  const builder = new MergeBuilder(list, index);
  for (const w of CORE_WORDS) builder.makeSingle(byteLevel(w));
  for (const w of CORE_WORDS) builder.makeSingle(byteLevel(' ' + w));
  const words = o.vocabSize - flavor.last.length;
  if (list.length > words) throw tooSmall('bpe', o.vocabSize, list.length + flavor.last.length);
  builder.limit = words;
  for (let i = 0; list.length < words; i++) builder.makeSingle(byteLevel(' ' + pseudoWord(i)));
  for (const t of flavor.last) addToken(list, index, t);
  return bpeFiles(list, index, builder.merges, o, flavor);
}

function bpeFiles(list: string[], index: Map<string, number>, merges: [string, string][], o: BpeOptions, flavor: Flavor): TokenizerFiles {
  const vocab: Record<string, number> = {};
  list.forEach((t, i) => (vocab[t] = i));
  const added = [...flavor.first, ...flavor.last].map((t) => {
    const token = specialToken(index.get(t) as number, t);
    // ModernBERT's [MASK] takes the space before it; Qwen's <think> tags are added tokens, not special.
    return { ...token, lstrip: t === '[MASK]', special: !flavor.plain.includes(t) };
  });
  const id = (t: string) => index.get(t) as number;
  const parts = FLAVOR_FILES[o.flavor ?? 'gemma'](id, o);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: parts.normalizer,
    pre_tokenizer: parts.preTokenizer,
    post_processor: parts.postProcessor,
    decoder: parts.decoder,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: parts.unkToken,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = { ...parts.config, model_max_length: o.maxLength, added_tokens_decoder: addedTokensDecoder(added) };
  return { tokenizer, tokenizerConfig, special: parts.special, vocab: index, vocabSize: list.length };
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
/** Qwen's byte-level steps: the split is its regex's, offsets untrimmed. */
const QWEN_BYTE_LEVEL = { ...BYTE_LEVEL, trim_offsets: false, use_regex: false };

/** What each flavor's tokenizer.json and tokenizer_config.json say, as the real models' files. */
interface FlavorFiles {
  normalizer: Record<string, unknown> | null;
  preTokenizer: Record<string, unknown>;
  postProcessor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  unkToken: string | null;
  config: Record<string, unknown>;
  special: SpecialTokenIds;
}

const FLAVOR_FILES: Record<BpeFlavor, (id: (token: string) => number, o: BpeOptions) => FlavorFiles> = {
  gemma: (id, o) => ({
    normalizer: null,
    preTokenizer: BYTE_LEVEL,
    // <bos> before single sequences (the reranker families add it themselves, untemplated).
    postProcessor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<bos>': { id: '<bos>', ids: [id('<bos>')], tokens: ['<bos>'] } },
    },
    decoder: BYTE_LEVEL,
    unkToken: '<unk>',
    config: {
      tokenizer_class: 'GemmaTokenizer',
      bos_token: '<bos>',
      eos_token: '<eos>',
      pad_token: '<pad>',
      unk_token: '<unk>',
      add_bos_token: true,
      add_eos_token: false,
      padding_side: o.paddingSide,
      clean_up_tokenization_spaces: false,
    },
    special: { pad: id('<pad>'), eos: id('<eos>'), bos: id('<bos>'), unk: id('<unk>') },
  }),
  qwen: (id, o) => ({
    normalizer: { type: 'NFC' },
    preTokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: QWEN2_SPLIT }, behavior: 'Isolated', invert: false }, QWEN_BYTE_LEVEL],
    },
    postProcessor: QWEN_BYTE_LEVEL,
    decoder: QWEN_BYTE_LEVEL,
    unkToken: null,
    config: {
      tokenizer_class: 'Qwen2Tokenizer',
      bos_token: null,
      eos_token: '<|im_end|>',
      pad_token: '<|endoftext|>',
      unk_token: null,
      add_bos_token: false,
      padding_side: o.paddingSide,
      clean_up_tokenization_spaces: false,
    },
    // Qwen has no unknown token (every byte has a symbol); its pad stands in.
    special: { pad: id('<|endoftext|>'), eos: id('<|im_end|>'), unk: id('<|endoftext|>') },
  }),
  modernbert: (id) => ({
    normalizer: { type: 'NFC' },
    preTokenizer: BYTE_LEVEL,
    postProcessor: clsSepTemplate(id),
    decoder: BYTE_LEVEL,
    unkToken: null,
    config: {
      tokenizer_class: 'PreTrainedTokenizerFast',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
      model_input_names: ['input_ids', 'attention_mask'],
      clean_up_tokenization_spaces: true,
    },
    special: { pad: id('[PAD]'), unk: id('[UNK]'), cls: id('[CLS]'), sep: id('[SEP]'), mask: id('[MASK]') },
  }),
};
