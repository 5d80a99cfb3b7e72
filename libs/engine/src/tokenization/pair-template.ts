/**
 * The pair layout of a tokenizer's post-processor (`[CLS] A [SEP] B [SEP]`, `<s> A </s></s> B </s>`,
 * ...), read once from tokenizer.json so that truncated ids can be framed without re-tokenizing.
 * Token type ids are the reference's: RobertaProcessing gives 0 throughout, BertProcessing 1 from B on,
 * TemplateProcessing what its template says, none (or ByteLevel alone) 0 for A and 1 for B.
 */

/** A template field: special token ids, or where the first (A) or second (B) sequence goes. */
export type TemplatePiece = { special: number; typeId: number } | { sequence: 'A' | 'B'; typeId: number };

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

  /** The template of a tokenizer.json `post_processor` (null: plain concatenation). */
  static fromPostProcessor(json: Record<string, unknown> | null | undefined): PairTemplate {
    const pieces = templatePieces(json) ?? [
      { sequence: 'A', typeId: 0 },
      { sequence: 'B', typeId: 1 },
    ];
    const order = pieces.flatMap((p) => ('sequence' in p ? [p.sequence] : [])).join('');
    if (order !== 'AB')
      throw new Error(`its pair template must place the query then the passage once each; found ${order.split('').join(',')}`);
    return new PairTemplate(pieces);
  }
}

type Json = Record<string, unknown>;

/** undefined: the processor leaves the pair as it is (none, ByteLevel). */
function templatePieces(json: Json | null | undefined): TemplatePiece[] | undefined {
  if (!json) return undefined;
  switch (json.type) {
    case 'TemplateProcessing': {
      const specials = (json.special_tokens ?? {}) as Record<string, { ids: number[] }>;
      return (json.pair as Json[]).flatMap((item): TemplatePiece[] => {
        if (item.Sequence) {
          const s = item.Sequence as { id: 'A' | 'B'; type_id: number };
          return [{ sequence: s.id, typeId: s.type_id }];
        }
        const s = item.SpecialToken as { id: string; type_id: number };
        const ids = specials[s.id]?.ids;
        if (!ids) throw new Error(`its pair template uses ${JSON.stringify(s.id)}, which its special_tokens do not define`);
        return ids.map((id) => ({ special: id, typeId: s.type_id }));
      });
    }
    case 'BertProcessing':
    case 'RobertaProcessing': {
      const cls = (json.cls as [string, number])[1];
      const sep = (json.sep as [string, number])[1];
      const b = json.type === 'BertProcessing' ? 1 : 0;
      return [
        { special: cls, typeId: 0 },
        { sequence: 'A', typeId: 0 },
        { special: sep, typeId: 0 },
        ...(json.type === 'RobertaProcessing' ? [{ special: sep, typeId: 0 }] : []),
        { sequence: 'B', typeId: b },
        { special: sep, typeId: b },
      ];
    }
    case 'ByteLevel':
      return undefined;
    case 'Sequence': {
      // Each processor frames what the previous one produced; only one of them may add tokens.
      const framed = ((json.processors ?? []) as Json[]).map(templatePieces).filter((p): p is TemplatePiece[] => !!p);
      if (framed.length > 1) throw new Error('its post-processor Sequence frames the pair more than once');
      return framed[0];
    }
    default:
      throw new Error(`its post-processor ${JSON.stringify(json.type)} is not supported`);
  }
}
