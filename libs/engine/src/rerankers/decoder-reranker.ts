import { ModelLoadError, RerankerArgumentError } from '../errors';
import { type CallSettings, LLM_DEFAULT_PROMPT, LLM_SEPARATOR } from '../options';
import type { BatchTensors, PaddingSide } from '../batching/tensors';
import type { RunOutput } from '../runtime/device-session';
import type { Device } from '../devices';
import { type DecoderParts, decoderPrefix, DecoderSequences } from '../sequences/decoder-sequences';
import type { Family, PairScore, RerankerOptions, ScoreOverrides } from '../types';
import { BaseReranker, type FamilyCall } from './base-reranker';
import type { LoadedModel } from './loaded-model';

/**
 * What the three LLM families share: the `[bos] query / sep passage / sep prompt` layout,
 * the yes-token and layer bookkeeping, and pooling at each row's last real token.
 */
export abstract class DecoderReranker<Overrides extends ScoreOverrides, One extends PairScore> extends BaseReranker<Overrides, One> {
  protected readonly sequences = new DecoderSequences();
  protected yesId = -1;
  private sepIds: number[] = [];
  private readonly promptIds = new Map<string, number[]>();

  protected constructor(family: Family, modelNameOrPath: string, options: RerankerOptions) {
    super(family, modelNameOrPath, options);
  }

  /** The family's prompt when neither the call nor reranker.json gives one. */
  protected get defaultPrompt(): string {
    return LLM_DEFAULT_PROMPT;
  }

  /** llm: bos only when it differs from pad; layer-wise and light-weight: always. */
  protected abstract bosAlways: boolean;

  protected checkModel(model: LoadedModel): void {
    const { tokenizer, files } = model;
    if (this.bosAlways && tokenizer.bosId === undefined) {
      throw new ModelLoadError(
        `${files.dir}: the ${this.family} family starts every sequence with bos, but tokenizer_config.json names no bos_token`,
      );
    }
    const yesToken = files.reranker.yesToken ?? 'Yes';
    const yes = tokenizer.encode(yesToken);
    if (yes.length === 0) throw new ModelLoadError(`${files.dir}: the yes token ${JSON.stringify(yesToken)} tokenizes to nothing`);
    this.yesId = yes[0];
    this.sepIds = tokenizer.encode(LLM_SEPARATOR);
  }

  protected parts(model: LoadedModel, call: CallSettings): DecoderParts {
    const prompt = call.prompt ?? model.files.reranker.prompt ?? this.defaultPrompt;
    let promptIds = this.promptIds.get(prompt);
    if (!promptIds) {
      promptIds = model.tokenizer.encode(prompt);
      this.promptIds.set(prompt, promptIds);
    }
    const { bosId, padId } = model.tokenizer;
    return { prefix: decoderPrefix(this.family, bosId, padId), sep: this.sepIds, prompt: promptIds };
  }

  protected paddingSide(model: LoadedModel, positionIds: boolean): PaddingSide {
    // Without position ids a graph counts positions from the left edge: only right padding keeps scores per pair.
    return positionIds ? model.tokenizer.paddingSide : 'right';
  }

  /**
   * The decoder layout for a call: `[bos] query / sep passage / sep prompt`. Batches are padded to a
   * multiple of 8 on GPUs, as the reference (tensor cores); on CPU that only adds work, and scores are
   * the same either way (position ids and last-token pooling make them independent of padding).
   */
  protected decoderCall(
    model: LoadedModel,
    call: CallSettings,
    padSide: PaddingSide,
    columns: number,
    read: (output: RunOutput, tensors: BatchTensors, rows: number) => Float64Array,
    readKey: string,
  ): FamilyCall {
    const limits = { maxLength: call.maxLength, queryMaxLength: call.queryMaxLength, maxPositions: model.files.maxPositions };
    const parts = this.parts(model, call);
    this.sequences.checkLimits(limits, parts);
    const onOverflow = this.queryOverflowNotice();
    const padMultiple = gpuPadMultiple(this.options.devices);
    return {
      columns,
      padSide,
      padMultiple,
      mergeKey: readKey,
      build: (query, passage, i, ids) => {
        const [q, p] = this.instructedIds(call, query, passage, ids);
        return this.sequences.build(q, p, parts, limits, i, onOverflow);
      },
      read,
    };
  }

  /** Layer-wise and light-weight: the cutoff layers' columns of a `scores` [B, K] output. */
  protected layerScoresCall(model: LoadedModel, call: CallSettings, padSide: PaddingSide): FamilyCall {
    const columns = this.layerColumns(model, call);
    const layerCount = model.files.reranker.layers?.length ?? 0;
    return this.decoderCall(
      model,
      call,
      padSide,
      columns.length,
      (out, _tensors, rows) => readLayerScores(out.data, out.dims, rows, columns, layerCount),
      `layers ${columns.join(',')}`,
    );
  }

  /** Cutoff layers as score columns of the graph's `layers`. */
  protected layerColumns(model: LoadedModel, call: CallSettings): number[] {
    const layers = model.files.reranker.layers;
    if (!layers?.length)
      throw new ModelLoadError(`${model.files.dir}: reranker.json must list "layers", the layer numbers whose scores the graph returns`);
    const cutoff = call.cutoffLayers ?? model.files.reranker.defaultCutoffLayers ?? [layers[layers.length - 1]];
    return cutoff.map((layer) => {
      const column = layers.indexOf(layer);
      if (column < 0)
        throw new RerankerArgumentError(
          'cutoffLayers',
          `layer ${layer} is not one this model returns; it offers ${JSON.stringify(layers)}`,
        );
      return column;
    });
  }
}

/** Decoder batches are padded to a multiple of 8 on GPUs (tensor cores), as the reference; on CPU to their longest row. */
export function gpuPadMultiple(devices: readonly Device[]): number {
  return devices.some((d) => d.kind === 'cuda') ? 8 : 1;
}

/** Picks the cutoff layers' columns of a `scores` [B, K] output, row-major. */
function readLayerScores(
  data: Float32Array,
  dims: readonly number[],
  rows: number,
  columns: readonly number[],
  layerCount: number,
): Float64Array {
  const k = dims[1];
  if (k !== layerCount) throw new ModelLoadError(`the graph returned ${k} score columns but reranker.json lists ${layerCount} layers`);
  const out = new Float64Array(rows * columns.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns.length; c++) out[r * columns.length + c] = data[r * k + columns[c]];
  return out;
}
