import type { CallSettings } from '../options';
import type { GraphPlan } from '../runtime/graph-signature';
import type { Pair, RerankerOptions, ScoreOverrides } from '../types';
import type { FamilyCall } from './base-reranker';
import { DecoderReranker, readLayerScores, shapeLayerScores } from './decoder-reranker';
import type { LoadedModel } from './loaded-model';

export type LayerWiseRerankerOptions = Omit<RerankerOptions, 'compressLayers' | 'compressRatio'>;
export type LayerWiseRerankerOverrides = Omit<ScoreOverrides, 'compressLayers' | 'compressRatio'>;

/**
 * Layer-wise LLM rerankers (bge-reranker-v2-minicpm-layerwise): a score head per layer; `cutoffLayers`
 * picks which layers' scores come back (a list per layer when several, flat when one).
 */
export class LayerWiseFlagLLMReranker extends DecoderReranker {
  protected bosAlways = true;

  constructor(modelNameOrPath: string, options: LayerWiseRerankerOptions = {}) {
    super('layerwise', modelNameOrPath, options);
  }

  computeScore(pair: Pair, overrides?: LayerWiseRerankerOverrides): Promise<number | number[]>;
  computeScore(pairs: readonly Pair[], overrides?: LayerWiseRerankerOverrides): Promise<number[] | number[][]>;
  async computeScore(input: Pair | readonly Pair[], overrides?: LayerWiseRerankerOverrides): Promise<number | number[] | number[][]> {
    const { scores, columns, pairs, single } = await this.scoreColumns(input, overrides);
    return shapeLayerScores(scores, columns, pairs.length, single);
  }

  protected prepareCall(model: LoadedModel, call: CallSettings, plan: GraphPlan): FamilyCall {
    const limits = { maxLength: call.maxLength, queryMaxLength: call.queryMaxLength };
    this.sequences.checkLimits(limits);
    const parts = this.parts(model, call);
    const columns = this.layerColumns(model, call);
    const layerCount = model.files.reranker.layers?.length ?? 0;
    return {
      columns: columns.length,
      padSide: this.paddingSide(model, plan.inputs.positionIds),
      padMultiple: 8,
      build: (q, p, i) => this.sequences.build(q, p, parts, limits, i),
      read: (out, _tensors, rows) => readLayerScores(out.data, out.dims, rows, columns, layerCount),
    };
  }
}
