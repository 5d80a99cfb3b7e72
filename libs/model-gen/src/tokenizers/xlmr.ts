/**
 * XLM-RoBERTa-style Unigram tokenizer (as bge-reranker-v2-m3). Vocabulary order:
 *   0 <s>, 1 <pad>, 2 </s>, 3 <unk>; 4 + i: "▁" + CORE_WORDS[i]; then "▁"; CORE_SYMBOLS; letters a–z
 *   and A–Z; syllables; then "▁" + pseudo-words.
 * Scores favour whole words over pieces, so vocabulary words are single tokens; unknown words fall back to
 * syllables and letters; characters outside the vocabulary (CJK, emoji) become <unk>.
 */
import { addedTokensDecoder, addToken, specialToken, TokenizerFiles, tooSmall } from './common';
import { CORE_SYMBOLS, CORE_WORDS, LOWER_LETTERS, pseudoWord, SYLLABLES, UPPER_LETTERS } from './vocab';

const SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'];
const SPACE = '\u2581';

export function xlmrTokenizer(vocabSize: number, maxLength: number): TokenizerFiles {
  const list: string[] = [];
  const index = new Map<string, number>();
  const scores: number[] = [];
  const add = (t: string, score: number) => {
    if (addToken(list, index, t)) scores.push(score);
  };
  for (const t of SPECIALS) add(t, 0);
  CORE_WORDS.forEach((w, i) => add(SPACE + w, -3 - i * 1e-3));
  add(SPACE, -5);
  for (const s of CORE_SYMBOLS) add(s, -8);
  for (const c of [...LOWER_LETTERS, ...UPPER_LETTERS]) add(c, -10);
  for (const s of SYLLABLES) add(s, -7);
  if (list.length > vocabSize) throw tooSmall('xlmr', vocabSize, list.length);
  for (let i = 0; list.length < vocabSize; i++) add(SPACE + pseudoWord(i), -6 - i * 1e-5);

  const added = SPECIALS.map((t, i) => specialToken(i, t));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }],
    },
    pre_tokenizer: { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true },
    decoder: { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 3, vocab: list.map((t, i) => [t, scores[i]]), byte_fallback: false },
  };
  const tokenizerConfig = {
    tokenizer_class: 'XLMRobertaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    sep_token: '</s>',
    cls_token: '<s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    model_max_length: maxLength,
    padding_side: 'right',
    clean_up_tokenization_spaces: true,
    added_tokens_decoder: addedTokensDecoder(added),
  };
  return {
    tokenizer,
    tokenizerConfig,
    special: { bos: 0, cls: 0, pad: 1, eos: 2, sep: 2, unk: 3 },
    vocab: index,
    vocabSize: list.length,
  };
}
