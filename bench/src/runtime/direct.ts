/**
 * The runtime's limit: ONNX Runtime sessions fed pre-built, padded batches, with nothing else in the
 * timed part. Two ways to call the runtime: on the main thread (a session of our own, as
 * transformers.js does) and through the engine's own device thread (`DeviceSession`, the engine's
 * hand-off: feeds transferred to a worker thread, outputs posted back).
 */
import * as ort from 'onnxruntime-node';
import { buildBatchTensors, type InputSet, type PaddingSide } from '../../../libs/engine/src/batching/tensors';
import { DeviceSession, type Feed } from '../../../libs/engine/src/runtime/device-session';
import type { EncodedPair } from '../../../libs/engine/src/sequences/encoded-pair';
import type { Device, PairInputs } from '@rerank/engine';
import { now } from '../measure';
import type { Plan } from './plans';

/** How a graph is fed and read. */
export interface GraphFeeding {
  path: string;
  output: string;
  padId: number;
  side: PaddingSide;
  inputs: InputSet;
}

export interface PreparedBatch {
  /** Pair indices, one per row. */
  indices: number[];
  width: number;
  feeds: Record<string, Feed>;
}

/** The engine's exact model inputs (from `inspectInputs`) as the engine's internal pair type. */
export function toEncoded(inputs: readonly PairInputs[]): EncodedPair[] {
  return inputs.map((p) => ({
    ids: Int32Array.from(p.inputIds),
    ...(p.tokenTypeIds ? { typeIds: Int32Array.from(p.tokenTypeIds) } : {}),
    ...(p.queryLength !== undefined ? { queryLength: p.queryLength, promptLength: p.promptLength } : {}),
  }));
}

/** Pads every batch of a plan with the engine's tensor builder. Returns the batches and the seconds it took. */
export function prepareBatches(
  encoded: readonly EncodedPair[],
  plan: Plan,
  feeding: GraphFeeding,
): { batches: PreparedBatch[]; seconds: number } {
  const t = now();
  const batches = plan.batches.map((indices) => {
    const pairs = indices.map((i) => encoded[i]);
    let width = 0;
    for (const p of pairs) width = Math.max(width, Math.ceil(p.ids.length / plan.padMultiple) * plan.padMultiple);
    const { feeds } = buildBatchTensors(pairs, width, feeding.padId, feeding.side, feeding.inputs);
    return { indices, width, feeds };
  });
  return { batches, seconds: now() - t };
}

/** Copies of the feeds (the worker-thread runner transfers, and so detaches, what it sends). */
export function cloneBatches(batches: readonly PreparedBatch[]): PreparedBatch[] {
  return batches.map((b) => ({
    indices: b.indices,
    width: b.width,
    feeds: Object.fromEntries(Object.entries(b.feeds).map(([k, f]) => [k, { dtype: f.dtype, data: f.data.slice(), dims: f.dims }])),
  }));
}

/** The session options the engine gives a device (device-session.ts); the CPU unless told otherwise. */
export function engineSessionOptions(
  threads: number,
  extra?: Record<string, unknown>,
  device: Device = { kind: 'cpu' },
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device.kind === 'cpu' ? ['cpu'] : [{ name: 'cuda', deviceId: device.index }],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: threads,
    ...(extra ? { extra } : {}),
  };
}

/** Reads one score per row: the first `rows` values of a [B] or [B, 1] output. */
function firstColumn(data: ArrayLike<number>, rows: number, indices: readonly number[], scores: Float64Array): void {
  for (let r = 0; r < rows; r++) scores[indices[r]] = data[r];
}

/** A session on the calling (main) thread. */
export class MainThreadRunner {
  private readonly tensors = new WeakMap<PreparedBatch, Record<string, ort.Tensor>>();

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly output: string,
  ) {}

  static async open(
    path: string,
    output: string,
    threads: number,
    extra?: Record<string, unknown>,
    device?: Device,
  ): Promise<MainThreadRunner> {
    const session = await ort.InferenceSession.create(path, engineSessionOptions(threads, extra, device));
    return new MainThreadRunner(session, output);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Wraps the feeds as runtime tensors once (outside any timing). */
  wrap(batches: readonly PreparedBatch[]): void {
    for (const b of batches) {
      if (this.tensors.has(b)) continue;
      this.tensors.set(b, Object.fromEntries(Object.entries(b.feeds).map(([k, f]) => [k, new ort.Tensor(f.dtype, f.data, f.dims)])));
    }
  }

  /** One `session.run` per batch, in plan order; scores in input order. */
  async score(batches: readonly PreparedBatch[], count: number): Promise<Float64Array> {
    this.wrap(batches);
    const scores = new Float64Array(count);
    for (const b of batches) {
      const out = await this.session.run(this.tensors.get(b) as Record<string, ort.Tensor>, [this.output]);
      firstColumn(out[this.output].data as Float32Array, b.indices.length, b.indices, scores);
    }
    return scores;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The engine's device thread (`DeviceSession`), fed pre-built batches with `lanes` in flight, as the engine does. */
export class WorkerThreadRunner {
  private constructor(
    private readonly device: DeviceSession,
    private readonly feeding: GraphFeeding,
  ) {}

  static async open(feeding: GraphFeeding, threads: number): Promise<WorkerThreadRunner> {
    const device = new DeviceSession({ kind: 'cpu' }, { intraOpNumThreads: threads });
    await device.load(feeding.path);
    return new WorkerThreadRunner(device, feeding);
  }

  /** Sends every batch (transferring its buffers: pass fresh copies each time). */
  async score(batches: readonly PreparedBatch[], count: number, lanes = 2): Promise<Float64Array> {
    const scores = new Float64Array(count);
    let next = 0;
    const lane = async () => {
      while (next < batches.length) {
        const b = batches[next++];
        const out = await this.device.run(this.feeding.path, b.feeds, this.feeding.output);
        firstColumn(out.data, b.indices.length, b.indices, scores);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return scores;
  }

  async close(): Promise<void> {
    await this.device.close();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
