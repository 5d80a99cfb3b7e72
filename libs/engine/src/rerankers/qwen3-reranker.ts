import { ModelLoadError } from '../errors';
import type { CallSettings } from '../options';
import { promptFormatter } from '../prompt-template';
import type { GraphPlan } from '../runtime/graph-signature';
import { type ChatFrame, ChatSequences } from '../sequences/chat-sequences';
import type { OptionsOf, OverridesOf } from '../contract/engine-options';
import { BaseReranker, type FamilyCall } from './base-reranker';
import { gpuPadMultiple } from './decoder-reranker';
import type { LoadedModel } from './loaded-model';

export type Qwen3RerankerOptions = OptionsOf<'qwen3'>;
export type Qwen3RerankerOverrides = OverridesOf<'qwen3'>;

/**
 * Qwen3-Reranker (0.6B, 4B, 8B) and its sequence-classification conversions: a causal LM judging
 * "yes" or "no" after a chat prompt. The raw score is `l_yes − l_no` at the last token, the logit of
 * the published score `exp(l_yes) / (exp(l_yes) + exp(l_no))`, which `normalize` (on by default)
 * returns; a conversion's single logit is the same number.
 */
export class Qwen3Reranker extends BaseReranker<Qwen3RerankerOverrides, number> {
  private readonly sequences = new ChatSequences();
  private yesId = -1;
  private noId = -1;
  private readonly frames = new Map<string, ChatFrame>();

  constructor(modelNameOrPath: string, options: Qwen3RerankerOptions = {}) {
    super('qwen3', modelNameOrPath, options);
    if (this.options.promptTemplate) promptFormatter(this.options.promptTemplate);
  }

  protected checkModel(model: LoadedModel): void {
    const { tokenizer, files } = model;
    // As the published code: convert_tokens_to_ids, the vocabulary entries themselves.
    const idOf = (token: string, field: string) => {
      const id = tokenizer.tokenId(token);
      if (id === undefined)
        throw new ModelLoadError(
          `${files.dir}: the answer token ${JSON.stringify(token)} is not in the tokenizer's vocabulary; name the model's own in reranker.json "${field}"`,
        );
      return id;
    };
    this.yesId = idOf(files.reranker.yesToken ?? 'yes', 'yes_token');
    this.noId = idOf(files.reranker.noToken ?? 'no', 'no_token');
  }

  protected prepareCall(model: LoadedModel, call: CallSettings, plan: GraphPlan): FamilyCall {
    const { tokenizer } = model;
    const template = call.promptTemplate;
    const fill = promptFormatter(template);
    const key = JSON.stringify([template.prefix, template.suffix]);
    let frame = this.frames.get(key);
    if (!frame) {
      frame = { prefix: tokenizer.encode(template.prefix), suffix: tokenizer.encode(template.suffix) };
      this.frames.set(key, frame);
    }
    this.sequences.checkLimits({ maxLength: call.maxLength, maxPositions: model.files.maxPositions }, frame);
    const { yesId, noId } = this;
    const chat = frame;
    return {
      columns: 1,
      // Without position ids a graph counts positions from the left edge: only right padding keeps scores per pair.
      padSide: plan.inputs.positionIds ? 'left' : 'right',
      padMultiple: gpuPadMultiple(this.options.devices),
      mergeKey: `${plan.output.kind} yes ${yesId} no ${noId}`,
      // The middle is one text per pair (tokenized whole, as the reference: pieces would tokenize differently at their seams).
      build: (query, passage) =>
        this.sequences.build(tokenizer.encode(fill({ instruction: call.instruction, query, document: passage })), chat, call.maxLength),
      read: (out, tensors, rows) => {
        if (plan.output.kind === 'token-logits') {
          // logits [B, T, V]: l_yes − l_no at each row's last real token.
          const [, width, vocab] = out.dims;
          return Float64Array.from({ length: rows }, (_, r) => {
            const at = (r * width + tensors.lastIndex[r]) * vocab;
            return out.data[at + yesId] - out.data[at + noId];
          });
        }
        if (out.dims.length === 2 && out.dims[1] !== 1)
          throw new ModelLoadError(`${plan.output.name} has ${out.dims[1]} values per row; a qwen3 graph returns one (l_yes − l_no)`);
        return Float64Array.from(out.data.subarray(0, rows));
      },
    };
  }
}
