import type { BatchLimits } from '../batching/batch-plan';
import type { BatchTensors } from '../batching/tensors';
import type { EncodedPair } from '../sequences/encoded-pair';
import type { BatchStats, ScoreSchedule } from '../types';
import type { DeviceSession, RunOutput } from './device-session';
import { DeviceScheduler } from './device-scheduler';

/**
 * What one scoring call asks of the devices: tokenize → plan → run. Pairs are tokenized in chunks,
 * each chunk sorted by length and cut into batches under the row and padded-token bounds; the
 * model's DeviceScheduler (device-scheduler.ts) runs them, merged with other calls' pairs where
 * they share a `mergeKey`. Scores come back `columns` per pair, in input order.
 */
export interface ScoreTask {
  count: number;
  /** Score columns per pair (several for layer-wise cutoff layers). */
  columns: number;
  limits: BatchLimits;
  /** Class, tenant, group and weight of the call against other calls on the same devices. */
  schedule?: ScoreSchedule;
  /**
   * Calls with equal keys can share a device run: the same graph file and output on every device,
   * padding side and multiple, input set, score columns and reading. Undefined: never merged.
   */
  mergeKey?: string;
  /**
   * Each pair must run at the width it was planned at (left padding: where the real tokens sit
   * changes the kernels' summation order, so the last bits of a score depend on the run's width).
   */
  exactWidth?: boolean;
  /** Names the call in the scheduler's run records (tests). */
  label?: string;
  /** Tokenizes pairs [start, end) (main thread). */
  encode(start: number, end: number): EncodedPair[];
  /** Pads a batch into graph inputs. */
  tensors(pairs: readonly EncodedPair[], width: number): BatchTensors;
  /** The graph file a device runs and the output to fetch. */
  graphFor(device: DeviceSession): { path: string; output: string };
  /** Scores of each row, `columns` per row, row-major. */
  read(output: RunOutput, tensors: BatchTensors, rows: number): Float64Array;
  /** Told about each batch run (this call's rows, real and padded tokens); observability only. */
  onBatch?: (stats: BatchStats) => void;
}

/** Runs one call alone on `devices` (a scheduler of its own: no other call to share with). */
export function runScoreTask(task: ScoreTask, devices: readonly DeviceSession[]): Promise<Float64Array> {
  return new DeviceScheduler(devices).score(task);
}
