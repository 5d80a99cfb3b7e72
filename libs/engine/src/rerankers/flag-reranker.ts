import { ModelLoadError } from '../errors';
import type { CallSettings } from '../options';
import { EncoderSequences } from '../sequences/encoder-sequences';
import type { OptionsOf, OverridesOf } from '../contract/engine-options';
import { BaseReranker, type FamilyCall } from './base-reranker';
import type { LoadedModel } from './loaded-model';

export type FlagRerankerOptions = OptionsOf<'encoder'>;
export type FlagRerankerOverrides = OverridesOf<'encoder'>;

/** Cross-encoder rerankers (bge-reranker-base / -large / -v2-m3, jina, gte, bce): one logit per pair. */
export class FlagReranker extends BaseReranker<FlagRerankerOverrides, number> {
  private sequences: EncoderSequences | undefined;

  constructor(modelNameOrPath: string, options: FlagRerankerOptions = {}) {
    super('encoder', modelNameOrPath, options);
  }

  protected checkModel(model: LoadedModel): void {
    this.sequences = new EncoderSequences(model.tokenizer.pairTemplate(), true);
  }

  protected prepareCall(model: LoadedModel, call: CallSettings): FamilyCall {
    const sequences = this.sequences as EncoderSequences;
    const limits = { maxLength: call.maxLength, queryMaxLength: call.queryMaxLength, maxPositions: model.files.maxPositions };
    sequences.checkLimits(limits);
    const onOverflow = this.queryOverflowNotice();
    return {
      columns: 1,
      // Encoders count positions from the left edge (BERT), so pads go on the right.
      padSide: 'right',
      padMultiple: 1,
      mergeKey: 'logits',
      build: (query, passage, i, ids) => {
        const [q, p] = this.instructedIds(call, query, passage, ids);
        return sequences.build(q, p, limits, call.truncation, i, onOverflow);
      },
      read: (out, _tensors, rows) => {
        if (out.dims.length === 2 && out.dims[1] !== 1) {
          throw new ModelLoadError(`logits has ${out.dims[1]} labels per row; a reranker's classifier has one`);
        }
        return Float64Array.from(out.data.subarray(0, rows));
      },
    };
  }
}
