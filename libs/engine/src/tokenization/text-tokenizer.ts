import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelLoadError } from '../errors';
import type { ModelFiles } from '../model/model-files';

/** A template field: a special token, or where the first (A) or second (B) sequence goes. */
export type TemplatePiece = { special: number; typeId: number } | { sequence: 'A' | 'B'; typeId: number };

/**
 * The tokenizer's own pair template (`[CLS] A [SEP] B [SEP]`, `<s> A </s></s> B </s>`, ...),
 * read off its post-processor once, so truncated ids can be framed without re-tokenizing.
 */
export class PairTemplate {
  readonly specialCount: number;
  constructor(readonly pieces: readonly TemplatePiece[]) {
    this.specialCount = pieces.filter((p) => 'special' in p).length;
  }

  /** Ids and token type ids of `A` and `B` framed by the template. */
  apply(a: ArrayLike<number>, b: ArrayLike<number>): { ids: Int32Array; typeIds: Int32Array } {
    const n = a.length + b.length + this.specialCount;
    const ids = new Int32Array(n);
    const typeIds = new Int32Array(n);
    let k = 0;
    for (const piece of this.pieces) {
      if ('special' in piece) {
        ids[k] = piece.special;
        typeIds[k++] = piece.typeId;
      } else {
        const seq = piece.sequence === 'A' ? a : b;
        for (let i = 0; i < seq.length; i++) {
          ids[k] = seq[i];
          typeIds[k++] = piece.typeId;
        }
      }
    }
    return { ids, typeIds };
  }
}

/** The name of a special token in tokenizer_config.json: a string or `{content}`. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

/**
 * `@huggingface/tokenizers` over a model directory's tokenizer.json, with the special-token ids
 * the contract defines and memoized encoding (queries repeat across thousands of pairs).
 */
export class TextTokenizer {
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number;
  readonly paddingSide: 'left' | 'right';
  private readonly tokenizer: Tokenizer;
  private readonly addedTokenIds = new Map<string, number>();

  constructor(files: ModelFiles) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(files.tokenizerJson, 'utf8')) as Record<string, unknown>;
      this.tokenizer = new Tokenizer(json, files.tokenizerConfig);
    } catch (e) {
      throw new ModelLoadError(`cannot read the tokenizer ${files.tokenizerJson}: ${(e as Error).message}`);
    }
    for (const [id, token] of this.tokenizer.get_added_tokens_decoder()) this.addedTokenIds.set(token.content, id);
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
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Id of a token string, or undefined when the vocabulary lacks it. */
  tokenId(token: string): number | undefined {
    return this.addedTokenIds.get(token) ?? this.tokenizer.token_to_id(token);
  }

  /** The pair template of the tokenizer's post-processor (none: plain concatenation). */
  pairTemplate(): PairTemplate {
    const processor = this.tokenizer.post_processor;
    if (!processor)
      return new PairTemplate([
        { sequence: 'A', typeId: 0 },
        { sequence: 'B', typeId: 1 },
      ]);
    // Markers from the private-use area stand for the two sequences.
    const markA = '\uE000A';
    const markB = '\uE000B';
    const out = processor.post_process([markA], [markB], true);
    const tokens = [...out.tokens, ...(out.tokens_pair ?? [])];
    const types = out.token_type_ids ?? [];
    const pieces: TemplatePiece[] = tokens.map((t, i) => {
      const typeId = types[i] ?? 0;
      if (t === markA) return { sequence: 'A', typeId };
      if (t === markB) return { sequence: 'B', typeId };
      const id = this.tokenId(t);
      if (id === undefined)
        throw new ModelLoadError(`the tokenizer's pair template uses ${JSON.stringify(t)}, which is not in its vocabulary`);
      return { special: id, typeId };
    });
    const seqs = pieces.filter((p) => 'sequence' in p).map((p) => ('sequence' in p ? p.sequence : ''));
    if (seqs.join('') !== 'AB')
      throw new ModelLoadError(`the tokenizer's pair template must place the query then the passage once each; found ${seqs.join(',')}`);
    return new PairTemplate(pieces);
  }

  private idOfConfigToken(value: unknown): number | undefined {
    const name = tokenName(value);
    return name === undefined ? undefined : this.tokenId(name);
  }
}
