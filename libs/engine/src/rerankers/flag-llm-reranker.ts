import type { CallSettings } from '../options';
import type { GraphPlan } from '../runtime/graph-signature';
import type { OptionsOf, OverridesOf } from '../contract/engine-options';
import type { FamilyCall } from './base-reranker';
import { DecoderReranker } from './decoder-reranker';
import type { LoadedModel } from './loaded-model';

export type FlagLLMRerankerOptions = OptionsOf<'llm'>;
export type FlagLLMRerankerOverrides = OverridesOf<'llm'>;

/** Decoder-only LLM rerankers (bge-reranker-v2-gemma): the logit of "Yes" after the prompt. */
export class FlagLLMReranker extends DecoderReranker<FlagLLMRerankerOverrides, number> {
  protected bosAlways = false;

  constructor(modelNameOrPath: string, options: FlagLLMRerankerOptions = {}) {
    super('llm', modelNameOrPath, options);
  }

  protected prepareCall(model: LoadedModel, call: CallSettings, plan: GraphPlan): FamilyCall {
    const yesId = this.yesId;
    return this.decoderCall(
      model,
      call,
      this.paddingSide(model, plan.inputs.positionIds),
      1,
      (out, tensors, rows) => {
        if (plan.output.kind === 'pooled') return Float64Array.from(out.data.subarray(0, rows));
        // logits [B, T, V]: the yes-token logit at each row's last real token.
        const [, width, vocab] = out.dims;
        return Float64Array.from({ length: rows }, (_, r) => out.data[(r * width + tensors.lastIndex[r]) * vocab + yesId]);
      },
      `${plan.output.kind} yes ${yesId}`,
    );
  }
}
