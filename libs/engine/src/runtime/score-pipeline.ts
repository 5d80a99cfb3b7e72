import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { OutOfMemoryError } from '../errors';
import { type BatchLimits, chunkRanges, paddedLength, planBatches } from '../batching/batch-plan';
import type { BatchTensors } from '../batching/tensors';
import type { EncodedPair } from '../sequences/encoded-pair';
import type { BatchStats } from '../types';
import { BatchQueue } from './batch-queue';
import { DeviceRunError, type DeviceSession, type RunOutput } from './device-session';

/** What one scoring call asks of the pipeline. */
export interface ScoreTask {
  count: number;
  /** Score columns per pair (several for layer-wise cutoff layers). */
  columns: number;
  limits: BatchLimits;
  /** Orders this call's batches against other calls' on the same devices (lower first; run-gate.ts). */
  priority?: number;
  /** Tokenizes pairs [start, end) (main thread). */
  encode(start: number, end: number): EncodedPair[];
  /** Pads a batch into graph inputs. */
  tensors(pairs: readonly EncodedPair[], width: number): BatchTensors;
  /** The graph file a device runs and the output to fetch. */
  graphFor(device: DeviceSession): { path: string; output: string };
  /** Scores of each row, `columns` per row, row-major. */
  read(output: RunOutput, tensors: BatchTensors, rows: number): Float64Array;
  /** Told about each batch run (rows, real and padded tokens); observability only. */
  onBatch?: (stats: BatchStats) => void;
}

interface Batch {
  /** Global pair indices. */
  indices: number[];
  pairs: EncodedPair[];
}

/** Batches posted to a device thread ahead of its current one, so it never waits on the main thread. */
export const LANES_PER_DEVICE = 2;

/**
 * Tokenize → plan → run on every device at once. Pairs are tokenized in chunks, each chunk
 * sorted by length and cut into batches under the row and padded-token bounds; devices take
 * batches from one queue as they free up. A batch that runs out of memory shrinks the bounds to
 * 3/4 (as the reference) and is split. Returns `columns` scores per pair, in input order.
 */
export async function runScoreTask(task: ScoreTask, devices: readonly DeviceSession[]): Promise<Float64Array> {
  const scores = new Float64Array(task.count * task.columns);
  if (task.count === 0) return scores;
  const limits: BatchLimits = { ...task.limits };
  const queue = new BatchQueue<Batch>();

  const produce = async () => {
    // Later chunks are tokenized while the devices compute the earlier ones.
    for (const [start, end] of chunkRanges(task.count)) {
      if (queue.failure) break;
      const pairs = task.encode(start, end);
      const lengths = pairs.map((p) => p.ids.length);
      for (const local of planBatches(lengths, limits)) {
        queue.push({ indices: local.map((i) => start + i), pairs: local.map((i) => pairs[i]) });
      }
      // Let the devices' replies through before tokenizing the next chunk.
      await yieldToEventLoop();
    }
    queue.close();
  };

  const lane = async (device: DeviceSession) => {
    const { path, output } = task.graphFor(device);
    for (let batch = await queue.take(); batch; batch = await queue.take()) {
      const width = Math.max(...batch.pairs.map((p) => paddedLength(p.ids.length, limits.padMultiple)));
      if (batch.pairs.length > 1 && (batch.pairs.length > limits.batchSize || batch.pairs.length * width > limits.maxBatchTokens)) {
        // Bounds shrank after an out-of-memory error: split to the new bounds.
        queue.pushFront(...split(batch, limits));
        continue;
      }
      const tensors = task.tensors(batch.pairs, width);
      let out: RunOutput;
      try {
        out = await device.run(path, tensors.feeds, output, task.priority);
      } catch (e) {
        if (!(e instanceof DeviceRunError) || !e.oom) throw e;
        if (batch.pairs.length === 1)
          throw new OutOfMemoryError(`${device.name} ran out of memory on a single pair of ${width} tokens: ${e.message}`);
        limits.batchSize = Math.max(1, Math.floor((Math.min(limits.batchSize, batch.pairs.length) * 3) / 4));
        limits.maxBatchTokens = Math.max(1, Math.floor((Math.min(limits.maxBatchTokens, batch.pairs.length * width) * 3) / 4));
        queue.pushFront(...split(batch, limits));
        continue;
      }
      const rows = task.read(out, tensors, batch.pairs.length);
      if (task.onBatch) reportBatch(task.onBatch, device.name, batch.pairs, width);
      for (let r = 0; r < batch.indices.length; r++) {
        scores.set(rows.subarray(r * task.columns, (r + 1) * task.columns), batch.indices[r] * task.columns);
      }
    }
  };

  const guard = (work: Promise<void>) =>
    work.catch((e: Error) => {
      queue.fail(e);
    });
  await Promise.all([guard(produce()), ...devices.flatMap((d) => Array.from({ length: LANES_PER_DEVICE }, () => guard(lane(d))))]);
  if (queue.failure) throw queue.failure;
  return scores;
}

function reportBatch(onBatch: (stats: BatchStats) => void, device: string, pairs: readonly EncodedPair[], width: number): void {
  let realTokens = 0;
  for (const p of pairs) realTokens += p.ids.length;
  try {
    onBatch({ device, rows: pairs.length, realTokens, paddedTokens: pairs.length * width });
  } catch {
    // An observer's error must not fail scoring.
  }
}

function split(batch: Batch, limits: BatchLimits): Batch[] {
  const lengths = batch.pairs.map((p) => p.ids.length);
  return planBatches(lengths, limits).map((local) => ({
    indices: local.map((i) => batch.indices[i]),
    pairs: local.map((i) => batch.pairs[i]),
  }));
}
