import type { Device } from '../devices';
import { ModelLoadError } from '../errors';
import { type ModelFiles, readModelFiles } from '../model/model-files';
import { resolveModelDir } from '../model/resolve';
import type { ResolvedOptions } from '../options';
import { DeviceScheduler } from '../runtime/device-scheduler';
import { DeviceSession, type GraphSignature } from '../runtime/device-session';
import { type GraphPlan, planGraph } from '../runtime/graph-signature';
import { TextTokenizer } from '../tokenization/text-tokenizer';
import type { Family, RerankerOptions } from '../types';

/**
 * A model directory opened for one family: its files, tokenizer, and a session per device.
 * Graphs are loaded on every device on first use and checked against the family's contract.
 * Every scoring call on the model goes through its one DeviceScheduler (fair, merged batches).
 */
export class LoadedModel {
  private readonly plans = new Map<string, Promise<GraphPlan>>();
  readonly scheduler: DeviceScheduler;

  private constructor(
    readonly family: Family,
    readonly files: ModelFiles,
    readonly tokenizer: TextTokenizer,
    readonly sessions: DeviceSession[],
  ) {
    this.scheduler = new DeviceScheduler(sessions);
  }

  static async open(family: Family, nameOrPath: string, options: ResolvedOptions, raw: RerankerOptions): Promise<LoadedModel> {
    const onGpu = options.devices.some((d) => d.kind === 'cuda');
    const dir = await resolveModelDir(nameOrPath, {
      cacheDir: options.cacheDir,
      revision: raw.revision,
      hubEndpoint: raw.hubEndpoint,
      hubToken: raw.hubToken,
      offline: raw.offline,
      withFp16: onGpu && (options.useFp16 || family === 'layerwise'),
      withQuantized: options.quantized,
    });
    const files = readModelFiles(dir);
    if (files.reranker.family && files.reranker.family !== family) {
      throw new ModelLoadError(
        `${dir} is a ${files.reranker.family} model (reranker.json), not ${family}; use the matching class or AutoReranker`,
      );
    }
    if (options.quantized && !files.quantizedGraph) {
      throw new ModelLoadError(
        `quantized: ${dir} has no int8 graph (onnx/model_quantized.onnx or model_int8.onnx); export one (docs/models.md) or drop the option`,
      );
    }
    const tokenizer = new TextTokenizer(files);
    const sessions = options.devices.map(
      (d) => new DeviceSession(d, { intraOpNumThreads: options.intraOpNumThreads, extra: options.sessionOptions }),
    );
    return new LoadedModel(family, files, tokenizer, sessions);
  }

  /** Loads a graph on the given devices (once each) and returns how to feed and read it. */
  graphPlan(path: string, sessions: readonly DeviceSession[]): Promise<GraphPlan> {
    const key = `${path}\0${sessions.map((s) => s.name).join(',')}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = this.loadOn(path, sessions);
      this.plans.set(key, plan);
      plan.catch(() => this.plans.delete(key));
    }
    return plan;
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }

  private async loadOn(path: string, sessions: readonly DeviceSession[]): Promise<GraphPlan> {
    const signatures: GraphSignature[] = await Promise.all(sessions.map((s) => s.load(path)));
    return planGraph(this.family, signatures[0], path);
  }
}

/** `useFp16` takes the fp16 graph on a GPU and is off on CPU; the layer-wise family always takes it on GPU (as the reference). */
export function wantsFp16(family: Family, options: ResolvedOptions, device: Device): boolean {
  return device.kind === 'cuda' && (options.useFp16 || family === 'layerwise');
}
