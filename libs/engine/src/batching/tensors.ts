import type { EncodedPair } from '../sequences/encoded-pair';
import type { Feed } from '../runtime/device-session';

export type PaddingSide = 'left' | 'right';

/** Which inputs a graph takes, besides `input_ids` and `attention_mask`. */
export interface InputSet {
  tokenTypeIds: boolean;
  positionIds: boolean;
  lengths: boolean;
}

export interface BatchTensors {
  feeds: Record<string, Feed>;
  /** Padded sequence length. */
  width: number;
  /** Per row, the position of its last real token (for pooling logits). */
  lastIndex: Int32Array;
}

/**
 * Pads a batch into the graph's int64 inputs. `position_ids` count 0, 1, 2, ... over each row's
 * real tokens and are 0 on pads, so left and right padding give the same scores.
 */
export function buildBatchTensors(
  pairs: readonly EncodedPair[],
  width: number,
  padId: number,
  side: PaddingSide,
  inputs: InputSet,
): BatchTensors {
  const rows = pairs.length;
  const ids = new BigInt64Array(rows * width).fill(BigInt(padId));
  const mask = new BigInt64Array(rows * width);
  const types = inputs.tokenTypeIds ? new BigInt64Array(rows * width) : undefined;
  const positions = inputs.positionIds ? new BigInt64Array(rows * width) : undefined;
  const lastIndex = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const pair = pairs[r];
    const n = pair.ids.length;
    const offset = r * width + (side === 'left' ? width - n : 0);
    for (let j = 0; j < n; j++) {
      ids[offset + j] = BigInt(pair.ids[j]);
      mask[offset + j] = 1n;
    }
    if (types && pair.typeIds) for (let j = 0; j < n; j++) types[offset + j] = BigInt(pair.typeIds[j]);
    if (positions) for (let j = 0; j < n; j++) positions[offset + j] = BigInt(j);
    lastIndex[r] = side === 'left' ? width - 1 : n - 1;
  }
  const dims = [rows, width];
  const feeds: Record<string, Feed> = {
    input_ids: { dtype: 'int64', data: ids, dims },
    attention_mask: { dtype: 'int64', data: mask, dims },
  };
  if (types) feeds.token_type_ids = { dtype: 'int64', data: types, dims };
  if (positions) feeds.position_ids = { dtype: 'int64', data: positions, dims };
  if (inputs.lengths) {
    feeds.query_lengths = { dtype: 'int64', data: BigInt64Array.from(pairs, (p) => BigInt(p.queryLength ?? 0)), dims: [rows] };
    feeds.prompt_lengths = { dtype: 'int64', data: BigInt64Array.from(pairs, (p) => BigInt(p.promptLength ?? 0)), dims: [rows] };
  }
  return { feeds, width, lastIndex };
}
