import { readFileSync } from 'node:fs';
import { ModelLoadError } from '../errors';
import type { TokenizerFiles } from '../model/model-files';
import { type AddedTokenJson, AddedVocabulary } from './added-vocabulary';
import { makeModel, type WordModel } from './models';
import { makeNormalizer, type Normalizer } from './normalizers';
import { PairTemplate } from './pair-template';
import { makePreTokenizer, type PreTokenizer, type Split } from './pre-tokenizers';
import { wellFormed } from './unicode/properties';

export { PairTemplate, type TemplatePiece } from './pair-template';

/** The name of a special token in tokenizer_config.json: a string or `{content}`. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

function modelSize(model: Record<string, unknown>): number {
  const vocab = model.vocab;
  return Array.isArray(vocab) ? vocab.length : Object.keys(vocab ?? {}).length;
}

/**
 * A model directory's tokenizer.json, applied as the reference (Hugging Face `tokenizers`, Rust)
 * applies it: added tokens, normalizer, pre-tokenizer and model (docs/models.md, "Tokenizers"), with
 * the special-token ids the contract defines and the pair template of its post-processor.
 */
export class TextTokenizer {
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number;
  readonly paddingSide: 'left' | 'right';
  private readonly normalizer: Normalizer | undefined;
  private readonly preTokenizer: PreTokenizer | undefined;
  private readonly model: WordModel;
  private readonly added: AddedVocabulary;
  private readonly postProcessor: Record<string, unknown> | null;

  constructor(files: TokenizerFiles) {
    try {
      const json = JSON.parse(readFileSync(files.tokenizerJson, 'utf8')) as Record<string, unknown>;
      const model = json.model as Record<string, unknown>;
      this.normalizer = makeNormalizer(json.normalizer as Record<string, unknown> | null);
      this.preTokenizer = makePreTokenizer(json.pre_tokenizer as Record<string, unknown> | null);
      this.model = makeModel(model);
      this.added = new AddedVocabulary(
        (json.added_tokens ?? []) as AddedTokenJson[],
        (content) => this.model.tokenToId(content),
        modelSize(model),
        this.normalizer,
      );
      this.postProcessor = (json.post_processor ?? null) as Record<string, unknown> | null;
    } catch (e) {
      throw new ModelLoadError(`cannot read the tokenizer ${files.tokenizerJson}: ${(e as Error).message}`);
    }
    const cfg = files.tokenizerConfig;
    this.bosId = this.idOfConfigToken(cfg.bos_token);
    this.eosId = this.idOfConfigToken(cfg.eos_token);
    const configPad = files.config.pad_token_id;
    this.padId =
      this.idOfConfigToken(cfg.pad_token) ?? (Number.isInteger(configPad) ? (configPad as number) : undefined) ?? this.eosId ?? 0;
    this.paddingSide = cfg.padding_side === 'left' ? 'left' : 'right';
  }

  /** Token ids of a text, no special tokens added. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const section of this.added.split(wellFormed(text), this.normalizer)) {
      if ('id' in section) {
        ids.push(section.id);
        continue;
      }
      const words: Split[] = this.preTokenizer ? this.preTokenizer([section]) : [section];
      for (const word of words) for (const id of this.model.encode(word.text)) ids.push(id);
    }
    return ids;
  }

  /** Id of a token string, or undefined when the vocabulary lacks it. */
  tokenId(token: string): number | undefined {
    return this.added.ids.get(token) ?? this.model.tokenToId(token);
  }

  /** The pair template of the tokenizer's post-processor (none: plain concatenation). */
  pairTemplate(): PairTemplate {
    try {
      return PairTemplate.fromPostProcessor(this.postProcessor);
    } catch (e) {
      throw new ModelLoadError(`the tokenizer's post-processor: ${(e as Error).message}`);
    }
  }

  private idOfConfigToken(value: unknown): number | undefined {
    const name = tokenName(value);
    return name === undefined ? undefined : this.tokenId(name);
  }
}
