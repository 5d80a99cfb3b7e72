/** Pieces shared by the tokenizer styles: added-token records and the result type. */

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export function specialToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** `added_tokens_decoder` of tokenizer_config.json, as transformers writes it. */
export function addedTokensDecoder(tokens: AddedTokenJson[]): Record<string, Omit<AddedTokenJson, 'id'>> {
  const out: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const { id, ...rest } of tokens) out[String(id)] = rest;
  return out;
}

/** Special token ids of a generated tokenizer (absent ones are undefined). */
export interface SpecialTokenIds {
  pad: number;
  unk: number;
  bos?: number;
  eos?: number;
  cls?: number;
  sep?: number;
  mask?: number;
}

export interface TokenizerFiles {
  /** Contents of tokenizer.json. */
  tokenizer: Record<string, unknown>;
  /** Contents of tokenizer_config.json. */
  tokenizerConfig: Record<string, unknown>;
  special: SpecialTokenIds;
  /** Token string → id, over the whole vocabulary. */
  vocab: Map<string, number>;
  vocabSize: number;
}

/** Appends `token` to an ordered vocabulary unless present; returns whether it was added. */
export function addToken(list: string[], index: Map<string, number>, token: string): boolean {
  if (index.has(token)) return false;
  index.set(token, list.length);
  list.push(token);
  return true;
}

export function tooSmall(style: string, vocabSize: number, minimum: number): Error {
  return new Error(`vocabSize ${vocabSize} is too small for the ${style} tokenizer (minimum ${minimum})`);
}

/** BERT's post-processor, as tokenizer.json writes it: `[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]` (B with type id 1). */
export function clsSepTemplate(id: (token: string) => number): Record<string, unknown> {
  const special = (token: string) => ({ id: token, ids: [id(token)], tokens: [token] });
  return {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
  };
}
