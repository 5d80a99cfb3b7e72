import { buildBatchTensors, type BatchTensors, type PaddingSide } from '../batching/tensors';
import { RerankerArgumentError } from '../errors';
import { applyInstruction } from '../instructions';
import { type CallSettings, type ResolvedOptions, resolveCall, resolveOptions } from '../options';
import { checkPairs, sigmoid } from '../pairs';
import type { DeviceSession, RunOutput } from '../runtime/device-session';
import type { GraphPlan } from '../runtime/graph-signature';
import type { EncodedPair, QueryOverflowNotice } from '../sequences/encoded-pair';
import type { Family, ListScores, Pair, PairScore, PairScores, RerankerOptions, ScoreOverrides, ScoreSchedule } from '../types';
import { LoadedModel, wantsFp16 } from './loaded-model';

/** One pair's model inputs before padding (see `inspectInputs`). */
export interface PairInputs {
  inputIds: number[];
  tokenTypeIds?: number[];
  queryLength?: number;
  promptLength?: number;
}

/** Token ids of a text, no special tokens. */
export type TextIds = (text: string) => number[];

/** How one call of a family turns pairs into model inputs and reads scores back. */
export interface FamilyCall {
  /** Score columns per pair (cutoff layers). */
  columns: number;
  padSide: PaddingSide;
  padMultiple: number;
  /**
   * What else, besides graph, output and padding, decides how rows are read: calls of one model with
   * equal keys share device runs (e.g. the cutoff layers' columns).
   */
  mergeKey: string;
  /** Builds one pair's model input from its texts; `ids` tokenizes a text (no special tokens), memoized per call. */
  build(query: string, passage: string, index: number, ids: TextIds): EncodedPair;
  /** Reads `columns` scores per row off the graph output. */
  read(output: RunOutput, tensors: BatchTensors, rows: number): Float64Array;
}

/**
 * What the four families share (the reference's AbsReranker): options, instructions, loading,
 * multi-device scoring, normalization and putting scores back in input order, `score` and
 * `computeScore`. A family adds its sequence layout and how it reads scores (`prepareCall`), and
 * names its per-call overrides (`Overrides`) and one pair's score (`One`: `number`, or
 * `number | number[]` for the families with cutoff layers).
 */
export abstract class BaseReranker<Overrides extends ScoreOverrides = ScoreOverrides, One extends PairScore = PairScore> {
  protected readonly options: ResolvedOptions;
  private model: Promise<LoadedModel> | undefined;
  private readonly warn: (message: string) => void;

  protected constructor(
    readonly family: Family,
    readonly modelNameOrPath: string,
    private readonly rawOptions: RerankerOptions = {},
  ) {
    if (typeof modelNameOrPath !== 'string' || modelNameOrPath.trim() === '') {
      throw new RerankerArgumentError('modelNameOrPath', `must name a model directory or hub id, got ${JSON.stringify(modelNameOrPath)}`);
    }
    this.options = resolveOptions(family, rawOptions);
    checkInstructionFormats(resolveCall(family, this.options));
    this.warn = rawOptions.onWarning ?? ((m) => console.warn(`[rerank] ${m}`));
    if (this.options.useFp16 && this.options.devices.every((d) => d.kind === 'cpu')) {
      // The reference switches fp16 off on CPU too.
      this.warn('useFp16 is ignored on CPU (fp32 graph used)');
    }
  }

  /** Loads the model and starts a runtime session per device. Scoring calls this on first use. */
  async ready(): Promise<void> {
    const model = await this.loaded();
    const call = this.callSettings(model);
    await Promise.all(model.sessions.map((s) => model.graphPlan(this.graphFor(model, call, s), [s])));
  }

  /** Releases the runtime sessions and their threads. */
  async close(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    if (model) await (await model.catch(() => undefined))?.close();
  }

  /**
   * The model inputs of each pair, unpadded, exactly as scoring builds them: for checking what
   * the model sees (instructions, truncation, special tokens, separator and prompt).
   */
  async inspectInputs(input: Pair | readonly Pair[], overrides?: ScoreOverrides): Promise<PairInputs[]> {
    const prepared = await this.prepare(input, overrides);
    return prepared.encode(0, prepared.pairs.length).map((p) => ({
      inputIds: Array.from(p.ids),
      ...(p.typeIds && prepared.plan.inputs.tokenTypeIds ? { tokenTypeIds: Array.from(p.typeIds) } : {}),
      ...(prepared.plan.inputs.lengths ? { queryLength: p.queryLength, promptLength: p.promptLength } : {}),
    }));
  }

  /** Token ids of a text under the model's tokenizer, without special tokens or instructions (for callers that budget tokens per document). */
  async tokenIds(text: string): Promise<number[]> {
    return (await this.loaded()).tokenizer.encode(text);
  }

  /** The maxLength (tokens of query + passage + special tokens) a call with these overrides truncates to. */
  async maxLengthFor(overrides?: ScoreOverrides): Promise<number> {
    return this.callSettings(await this.loaded(), overrides).maxLength;
  }

  /**
   * Scores pairs, pair-major: one entry per pair, in input order, normalized when asked; each a number,
   * or one number per cutoff layer when a layer-wise or light-weight call asks for several. One pair
   * is scored as a list of one. What the job worker and the CLI consume, whatever the family.
   */
  async score(pairs: Pair | readonly Pair[], overrides?: Overrides, schedule?: ScoreSchedule): Promise<PairScores<One>> {
    return (await this.scoreRows(pairs, overrides, schedule)).rows;
  }

  /**
   * The reference's `compute_score`: one pair gives its score (a number, or a list per layer), a list
   * gives a list in input order, and several cutoff layers give one list per layer (layer-major).
   */
  computeScore(pair: Pair, overrides?: Overrides): Promise<One>;
  computeScore(pairs: readonly Pair[], overrides?: Overrides): Promise<ListScores<One>>;
  async computeScore(input: Pair | readonly Pair[], overrides?: Overrides): Promise<One | ListScores<One>> {
    const { rows, columns, single } = await this.scoreRows(input, overrides);
    if (single) return rows[0];
    // The family's type parameters say which shape its columns give (see BaseReranker).
    return (columns === 1 ? rows : layerMajor(rows as number[][], columns)) as ListScores<One>;
  }

  /** Pair-major scores of a call, with its score columns and whether the input was one pair. */
  private async scoreRows(
    input: unknown,
    overrides?: ScoreOverrides,
    schedule?: ScoreSchedule,
  ): Promise<{ rows: PairScores<One>; columns: number; single: boolean }> {
    const { pairs, single, call, model, family, plan, graphs, plans, encode } = await this.prepare(input, overrides);
    const { columns } = family;
    const graphOf = (device: DeviceSession) => graphs.get(device) as string;
    const mergeKey = JSON.stringify([
      model.sessions.map(graphOf),
      [...plans.values()].map((p) => p.output.name),
      family.padSide,
      family.padMultiple,
      columns,
      family.mergeKey,
    ]);
    const scores = await model.scheduler.score({
      count: pairs.length,
      columns,
      limits: { batchSize: call.batchSize, maxBatchTokens: call.maxBatchTokens, padMultiple: family.padMultiple },
      ...(schedule ? { schedule } : {}),
      mergeKey,
      exactWidth: family.padSide === 'left',
      encode,
      tensors: (batch, width) => buildBatchTensors(batch, width, model.tokenizer.padId, family.padSide, plan.inputs),
      graphFor: (device) => {
        const path = graphs.get(device) as string;
        return { path, output: (plans.get(path) as GraphPlan).output.name };
      },
      read: (out, tensors, rows) => family.read(out, tensors, rows),
      onBatch: this.rawOptions.onBatch,
    });
    if (call.normalize) for (let i = 0; i < scores.length; i++) scores[i] = sigmoid(scores[i]);
    const rows: PairScore[] =
      columns === 1
        ? Array.from(scores)
        : Array.from({ length: pairs.length }, (_, i) => Array.from(scores.subarray(i * columns, (i + 1) * columns)));
    // One score column gives numbers, several give lists: the shapes the family's `One` names.
    return { rows: rows as PairScores<One>, columns, single };
  }

  /** Checks a call's input and settings, loads what it runs, and makes its pair encoder. */
  private async prepare(input: unknown, overrides?: ScoreOverrides) {
    const pairs = checkPairs(input);
    const single = pairs !== input;
    // Overrides are checked before the model is opened (its defaults fill in only what the call leaves out).
    checkInstructionFormats(resolveCall(this.family, this.options, overrides));
    const model = await this.loaded();
    const call = this.callSettings(model, overrides);
    const graphs = new Map(model.sessions.map((s) => [s, this.graphFor(model, call, s)]));
    const plans = new Map<string, GraphPlan>();
    for (const path of new Set(graphs.values())) {
      plans.set(
        path,
        await model.graphPlan(
          path,
          model.sessions.filter((s) => graphs.get(s) === path),
        ),
      );
    }
    // Every graph a call runs is the same export in another precision: one plan fits them all.
    const plan = plans.values().next().value as GraphPlan;
    const family = this.prepareCall(model, call, plan);
    // Queries repeat across pairs (and passages across queries): tokenize each text once per call.
    const cache = new Map<string, number[]>();
    const ids = (text: string) => {
      let v = cache.get(text);
      if (!v) {
        v = model.tokenizer.encode(text);
        cache.set(text, v);
      }
      return v;
    };
    const encode = (start: number, end: number): EncodedPair[] => {
      const out: EncodedPair[] = [];
      for (let i = start; i < end; i++) out.push(family.build(pairs[i][0], pairs[i][1], i, ids));
      return out;
    };
    return { pairs, single, call, model, graphs, plans, plan, family, encode };
  }

  /** A call's settings: its overrides over the constructor's options over the model's defaults (reranker.json). */
  protected callSettings(model: LoadedModel, overrides?: ScoreOverrides): CallSettings {
    return resolveCall(this.family, this.options, overrides, model.files.reranker);
  }

  /** Token ids of a pair's query and passage with the call's instructions (FlagEmbedding's families). */
  protected instructedIds(call: CallSettings, query: string, passage: string, ids: TextIds): [number[], number[]] {
    return [
      ids(applyInstruction(query, call.queryInstruction, call.queryInstructionFormat, 'queryInstructionFormat')),
      ids(applyInstruction(passage, call.passageInstruction, call.passageInstructionFormat, 'passageInstructionFormat')),
    ];
  }

  /** The family's layout and score reading for one call's settings and graph. */
  protected abstract prepareCall(model: LoadedModel, call: CallSettings, plan: GraphPlan): FamilyCall;

  /** The graph a device runs for a call (light-weight picks a compression variant). */
  protected graphFor(model: LoadedModel, _call: CallSettings, device: DeviceSession): string {
    return this.defaultGraph(model, device);
  }

  /** Checks family-specific needs of a freshly opened model (throws ModelLoadError). */
  protected abstract checkModel(model: LoadedModel): void;

  /** The fp32 / fp16 / int8 graph a device runs by default. */
  protected defaultGraph(model: LoadedModel, device: DeviceSession): string {
    const { files } = model;
    if (this.options.quantized && files.quantizedGraph) return files.quantizedGraph;
    if (wantsFp16(this.family, this.options, device.device)) {
      if (files.fp16Graph) return files.fp16Graph;
      this.warnOnce(`fp16: ${files.dir} has no model_fp16.onnx; ${device.name} runs the fp32 graph`);
    }
    return files.graph;
  }

  /**
   * A call's notice for pairs whose query part leaves no room for the passage: scored untruncated,
   * as the reference does, with one warning per call (the first such pair and how to avoid it).
   */
  protected queryOverflowNotice(): QueryOverflowNotice {
    let told = false;
    return (pairIndex, firstLength, maxTotal) => {
      if (told) return;
      told = true;
      this.warn(
        `pair ${pairIndex}: the query part takes ${firstLength} of the ${maxTotal} tokens maxLength allows, leaving no room for the passage; ` +
          'the sequence is scored untruncated, as the reference does (lower queryMaxLength or raise maxLength to truncate the passage instead); later pairs of this call are not reported',
      );
    };
  }

  private readonly warned = new Set<string>();
  protected warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }

  private loaded(): Promise<LoadedModel> {
    if (!this.model) {
      const opening = LoadedModel.open(this.family, this.modelNameOrPath, this.options, this.rawOptions).then((m) => {
        try {
          this.checkModel(m);
        } catch (e) {
          void m.close();
          throw e;
        }
        return m;
      });
      opening.catch(() => {
        if (this.model === opening) this.model = undefined;
      });
      this.model = opening;
    }
    return this.model;
  }
}

/** Pair-major rows of `columns` scores → one list per column (the reference's layer-wise shape). */
function layerMajor(rows: readonly number[][], columns: number): number[][] {
  return Array.from({ length: columns }, (_, c) => rows.map((row) => row[c]));
}

/** Surfaces a malformed instruction format before any work rather than mid-call. */
function checkInstructionFormats(call: CallSettings): void {
  applyInstruction('', call.queryInstruction, call.queryInstructionFormat, 'queryInstructionFormat');
  applyInstruction('', call.passageInstruction, call.passageInstructionFormat, 'passageInstructionFormat');
}
