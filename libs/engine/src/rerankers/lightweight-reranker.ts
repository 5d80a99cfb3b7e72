import { RerankerArgumentError } from '../errors';
import { findCompressionGraph } from '../contract/engine-options';
import { type CallSettings, LIGHTWEIGHT_DEFAULT_PROMPT } from '../options';
import type { DeviceSession } from '../runtime/device-session';
import type { OptionsOf, OverridesOf } from '../contract/engine-options';
import type { FamilyCall } from './base-reranker';
import { DecoderReranker } from './decoder-reranker';
import type { LoadedModel } from './loaded-model';

export type LightWeightRerankerOptions = OptionsOf<'lightweight'>;
export type LightWeightRerankerOverrides = OverridesOf<'lightweight'>;

/**
 * Light-weight LLM rerankers (bge-reranker-v2.5-gemma2-lightweight): layer-wise scores, right
 * padding, per-row query and prompt lengths, and token compression fixed at export, so
 * `compressRatio` / `compressLayers` select among the graphs the model ships.
 */
export class LightWeightFlagLLMReranker extends DecoderReranker<LightWeightRerankerOverrides, number | number[]> {
  protected bosAlways = true;

  constructor(modelNameOrPath: string, options: LightWeightRerankerOptions = {}) {
    super('lightweight', modelNameOrPath, options);
  }

  protected override get defaultPrompt(): string {
    return LIGHTWEIGHT_DEFAULT_PROMPT;
  }

  /** The graph exported with the call's compression settings. */
  protected override graphFor(model: LoadedModel, call: CallSettings, device: DeviceSession): string {
    const { files } = model;
    const main = {
      file: this.defaultGraph(model, device),
      compressRatio: files.reranker.compressRatio ?? 1,
      compressLayers: files.reranker.compressLayers ?? [],
    };
    const offers = [main, ...(files.reranker.variants ?? [])];
    const match = findCompressionGraph(
      offers.map((o) => ({ ratio: o.compressRatio, layers: o.compressLayers, file: o.file })),
      call.compressRatio,
      call.compressLayers,
    );
    if (match) return match.file;
    const list = offers.map((o) => `ratio ${o.compressRatio} at layers ${JSON.stringify(o.compressLayers)}`).join('; ');
    const argument = offers.some((o) => o.compressRatio === call.compressRatio) ? 'compressLayers' : 'compressRatio';
    throw new RerankerArgumentError(
      argument,
      `no graph of this model was exported with compressRatio ${call.compressRatio} and compressLayers ${JSON.stringify(call.compressLayers)}; it offers ${list}`,
    );
  }

  protected prepareCall(model: LoadedModel, call: CallSettings): FamilyCall {
    // The graph finds the passage from the row's start: right padding, as the reference.
    return this.layerScoresCall(model, call, 'right');
  }
}
