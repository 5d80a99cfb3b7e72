import type { CallSettings } from '../options';
import type { GraphPlan } from '../runtime/graph-signature';
import type { OptionsOf, OverridesOf } from '../contract/engine-options';
import type { FamilyCall } from './base-reranker';
import { DecoderReranker } from './decoder-reranker';
import type { LoadedModel } from './loaded-model';

export type LayerWiseRerankerOptions = OptionsOf<'layerwise'>;
export type LayerWiseRerankerOverrides = OverridesOf<'layerwise'>;

/**
 * Layer-wise LLM rerankers (bge-reranker-v2-minicpm-layerwise): a score head per layer; `cutoffLayers`
 * picks which layers' scores come back (a list per layer when several, flat when one).
 */
export class LayerWiseFlagLLMReranker extends DecoderReranker<LayerWiseRerankerOverrides, number | number[]> {
  protected bosAlways = true;

  constructor(modelNameOrPath: string, options: LayerWiseRerankerOptions = {}) {
    super('layerwise', modelNameOrPath, options);
  }

  protected prepareCall(model: LoadedModel, call: CallSettings, plan: GraphPlan): FamilyCall {
    return this.layerScoresCall(model, call, this.paddingSide(model, plan.inputs.positionIds));
  }
}
