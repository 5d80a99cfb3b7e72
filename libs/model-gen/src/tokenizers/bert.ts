/**
 * BERT-style WordPiece tokenizer (uncased). Vocabulary order:
 *   0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK]; 5 + i: CORE_WORDS[i]; then CORE_SYMBOLS; then the
 *   letters a–z not already present; "##" + letters and digits; "##" + syllables; then pseudo-words.
 * Any ASCII word tokenizes (letters and ## continuations exist); other scripts give [UNK].
 */
import { addedTokensDecoder, addToken, clsSepTemplate, specialToken, TokenizerFiles, tooSmall } from './common';
import { CORE_SYMBOLS, CORE_WORDS, LOWER_LETTERS, pseudoWord, SYLLABLES } from './vocab';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export function bertTokenizer(vocabSize: number, maxLength: number): TokenizerFiles {
  const list: string[] = [];
  const index = new Map<string, number>();
  for (const t of [...SPECIALS, ...CORE_WORDS, ...CORE_SYMBOLS, ...LOWER_LETTERS]) addToken(list, index, t);
  for (const c of [...LOWER_LETTERS, ...CORE_SYMBOLS.slice(0, 10)]) addToken(list, index, `##${c}`);
  for (const s of SYLLABLES) addToken(list, index, `##${s}`);
  if (list.length > vocabSize) throw tooSmall('bert', vocabSize, list.length);
  for (let i = 0; list.length < vocabSize; i++) addToken(list, index, pseudoWord(i));

  const vocab: Record<string, number> = {};
  list.forEach((t, i) => (vocab[t] = i));
  const added = SPECIALS.map((t, i) => specialToken(i, t));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: clsSepTemplate((t) => index.get(t)!),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
    model_max_length: maxLength,
    padding_side: 'right',
    clean_up_tokenization_spaces: true,
    added_tokens_decoder: addedTokensDecoder(added),
  };
  return {
    tokenizer,
    tokenizerConfig,
    special: { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 },
    vocab: index,
    vocabSize: list.length,
  };
}
