import * as ort from 'onnxruntime-node';

/** One sequence of the contract's inputs, built by the test itself (no engine code). */
export interface DirectInput {
  ids: number[];
  typeIds?: number[];
  queryLength?: number;
  promptLength?: number;
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();
function session(path: string): Promise<ort.InferenceSession> {
  let s = sessions.get(path);
  if (!s) {
    s = ort.InferenceSession.create(path);
    sessions.set(path, s);
  }
  return s;
}

/**
 * Runs a graph on the main thread, straight through onnxruntime-node: rows padded to `width`
 * on `side` with `padId`, position ids 0.. over real tokens. Returns the raw output tensor.
 */
export async function runDirect(
  path: string,
  rows: DirectInput[],
  opts: { width?: number; side?: 'left' | 'right'; padId?: number; output: string },
) {
  const s = await session(path);
  const width = opts.width ?? Math.max(...rows.map((r) => r.ids.length));
  const side = opts.side ?? 'right';
  const n = rows.length;
  const ids = new BigInt64Array(n * width).fill(BigInt(opts.padId ?? 0));
  const mask = new BigInt64Array(n * width);
  const types = new BigInt64Array(n * width);
  const positions = new BigInt64Array(n * width);
  rows.forEach((row, r) => {
    const offset = r * width + (side === 'left' ? width - row.ids.length : 0);
    row.ids.forEach((id, j) => {
      ids[offset + j] = BigInt(id);
      mask[offset + j] = 1n;
      types[offset + j] = BigInt(row.typeIds?.[j] ?? 0);
      positions[offset + j] = BigInt(j);
    });
  });
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [n, width]),
    attention_mask: new ort.Tensor('int64', mask, [n, width]),
    token_type_ids: new ort.Tensor('int64', types, [n, width]),
    position_ids: new ort.Tensor('int64', positions, [n, width]),
    query_lengths: new ort.Tensor(
      'int64',
      BigInt64Array.from(rows, (r) => BigInt(r.queryLength ?? 0)),
      [n],
    ),
    prompt_lengths: new ort.Tensor(
      'int64',
      BigInt64Array.from(rows, (r) => BigInt(r.promptLength ?? 0)),
      [n],
    ),
  };
  const feeds = Object.fromEntries(s.inputNames.map((name) => [name, all[name]]));
  const out = await s.run(feeds, [opts.output]);
  return out[opts.output];
}

export async function releaseDirectSessions(): Promise<void> {
  for (const s of sessions.values()) await (await s).release();
  sessions.clear();
}
