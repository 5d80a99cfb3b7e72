import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { ModelLoadError } from '../errors';
import { type Device, deviceName } from '../devices';
import { inspectCuda } from './cuda-provider';

/** An input or output of a graph, as the runtime reports it. */
export interface GraphValue {
  name: string;
  type: string;
  rank: number;
}

export interface GraphSignature {
  inputs: GraphValue[];
  outputs: GraphValue[];
}

/** An int64 input tensor, ready to transfer to the device thread. */
export interface Feed {
  dtype: 'int64';
  data: BigInt64Array;
  dims: number[];
}

export interface RunOutput {
  data: Float32Array;
  dims: number[];
}

export class DeviceRunError extends Error {
  override readonly name = 'DeviceRunError';
  constructor(
    message: string,
    readonly oom: boolean,
  ) {
    super(message);
  }
}

export interface SessionSettings {
  intraOpNumThreads?: number;
  /** Further onnxruntime session options, over the engine's defaults (not the device or thread count). */
  extra?: Record<string, unknown>;
}

interface Reply {
  id: number;
  error?: { message: string; oom: boolean };
  inputs?: GraphValue[];
  outputs?: GraphValue[];
  data?: Float32Array;
  dims?: number[];
  skipped?: boolean;
}

/**
 * A device (CPU or one GPU) and the graphs loaded on it, run in a worker thread of its own
 * (see device-thread.js for why). Graphs are keyed by file path.
 */
export class DeviceSession {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  /** Replies not yet in: close() waits for them. */
  private readonly inFlight = new Set<Promise<Reply>>();
  private closed = false;

  constructor(
    readonly device: Device,
    private readonly settings: SessionSettings = {},
  ) {
    this.worker = new Worker(join(__dirname, 'device-thread.js'));
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      waiter.resolve(reply);
    });
    this.worker.on('error', (e: Error) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`device thread for ${deviceName(device)} exited with code ${code}`)));
  }

  get name(): string {
    return deviceName(this.device);
  }

  /** Loads a graph on this device (once) and returns its signature. */
  async load(path: string): Promise<GraphSignature> {
    const reply = await this.call({ type: 'load', key: path, path, options: this.sessionOptions() });
    if (reply.error) throw new ModelLoadError(this.explainLoadError(path, reply.error.message));
    return { inputs: reply.inputs ?? [], outputs: reply.outputs ?? [] };
  }

  /**
   * Runs a batch on the device thread (the model's DeviceScheduler decides what runs and keeps two in
   * flight). `skip`: an Int32Array on a SharedArrayBuffer; set to 1 before the thread reaches the run,
   * the run is skipped and this resolves to null.
   */
  run(path: string, feeds: Record<string, Feed>, output: string): Promise<RunOutput>;
  run(path: string, feeds: Record<string, Feed>, output: string, skip: Int32Array): Promise<RunOutput | null>;
  async run(path: string, feeds: Record<string, Feed>, output: string, skip?: Int32Array): Promise<RunOutput | null> {
    const transfer = Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer);
    const reply = await this.call({ type: 'run', key: path, feeds, output, ...(skip ? { skip } : {}) }, transfer);
    if (reply.error) throw new DeviceRunError(reply.error.message, reply.error.oom);
    if (reply.skipped) return null;
    return { data: reply.data as Float32Array, dims: reply.dims as number[] };
  }

  /**
   * Stops the device thread once the runs in flight have answered: terminating a thread inside
   * onnxruntime's native run can abort the whole process. The thread is referenced while it stops, so
   * the process cannot exit (as 0, with the caller's work undone) before close() resolves.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    this.worker.ref();
    await this.worker.terminate();
  }

  private sessionOptions(): Record<string, unknown> {
    const providers = this.device.kind === 'cuda' ? [{ name: 'cuda', deviceId: this.device.index }] : ['cpu'];
    return {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...this.settings.extra,
      // The device and thread count are the engine's own settings.
      executionProviders: providers,
      ...(this.settings.intraOpNumThreads ? { intraOpNumThreads: this.settings.intraOpNumThreads } : {}),
    };
  }

  private explainLoadError(path: string, message: string): string {
    if (this.device.kind === 'cuda' && /cuda|provider|shared library|libcu|cudnn|device/i.test(message)) {
      // onnxruntime says only "Failed to load shared library"; the machine says which piece is missing.
      const problem = inspectCuda().problem;
      return problem
        ? `cannot start ${path} on ${this.name}: ${problem} (onnxruntime: ${message})`
        : `cannot start ${path} on ${this.name}: ${message}; \`rerank doctor\` checks the CUDA provider, its libraries, the driver and the GPUs (docs/gpu.md)`;
    }
    return `cannot load ${path} on ${this.name}: ${message}`;
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error(`device session ${this.name} is closed`));
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...message, id }, transfer);
    }).finally(() => {
      this.inFlight.delete(reply);
      if (this.pending.size === 0 && !this.closed) this.worker.unref();
    });
    this.inFlight.add(reply);
    return reply;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
