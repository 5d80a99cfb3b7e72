/** Test helpers: tokenize pairs like the reference families do, pad batches, run ORT sessions. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TestModelInfo } from '@rerank/model-gen';

export function loadTokenizer(dir: string): Tokenizer {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  return new Tokenizer(json, cfg);
}

export interface Row {
  ids: number[];
  typeIds?: number[];
  queryLength?: number;
  promptLength?: number;
}

export function encoderRow(tok: Tokenizer, query: string, passage: string): Row {
  const e = tok.encode(query, { text_pair: passage, add_special_tokens: true, return_token_type_ids: true });
  return { ids: e.ids, typeIds: e.token_type_ids };
}

const LLM_PROMPT =
  "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.";

/** [bos] + "A: q" + "\n" + "B: p" + "\n" + prompt, as the decoder families build it. */
export function decoderRow(tok: Tokenizer, info: TestModelInfo, query: string, passage: string, prompt = LLM_PROMPT): Row {
  const enc = (s: string) => tok.encode(s, { add_special_tokens: false }).ids;
  const sep = enc('\n');
  const q = [...(info.special.bos === undefined ? [] : [info.special.bos]), ...enc(`A: ${query}`)];
  const p = enc(`B: ${passage}`);
  const pr = enc(prompt);
  return { ids: [...q, ...sep, ...p, ...sep, ...pr], queryLength: q.length + sep.length, promptLength: sep.length + pr.length };
}

const i64 = (a: number[]) => BigInt64Array.from(a, (v) => BigInt(v));

/** Pads rows to one length (plus `extra`), on the given side; position ids 0.. over real tokens. */
export function feeds(info: TestModelInfo, rows: Row[], side: 'left' | 'right', extra = 0): Record<string, ort.Tensor> {
  const T = Math.max(...rows.map((r) => r.ids.length)) + extra;
  const B = rows.length;
  const ids: number[] = [],
    mask: number[] = [],
    types: number[] = [],
    pos: number[] = [];
  for (const r of rows) {
    const pad = T - r.ids.length;
    const padIds = new Array(pad).fill(info.special.pad);
    const zeros = new Array(pad).fill(0);
    const ones = new Array(r.ids.length).fill(1);
    const seq = r.ids.map((_, i) => i);
    const rowTypes = r.typeIds ?? new Array(r.ids.length).fill(0);
    if (side === 'right') {
      ids.push(...r.ids, ...padIds);
      mask.push(...ones, ...zeros);
      types.push(...rowTypes, ...zeros);
      pos.push(...seq, ...zeros);
    } else {
      ids.push(...padIds, ...r.ids);
      mask.push(...zeros, ...ones);
      types.push(...zeros, ...rowTypes);
      pos.push(...zeros, ...seq);
    }
  }
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', i64(ids), [B, T]),
    attention_mask: new ort.Tensor('int64', i64(mask), [B, T]),
    token_type_ids: new ort.Tensor('int64', i64(types), [B, T]),
    position_ids: new ort.Tensor('int64', i64(pos), [B, T]),
    query_lengths: new ort.Tensor('int64', i64(rows.map((r) => r.queryLength ?? 0)), [B]),
    prompt_lengths: new ort.Tensor('int64', i64(rows.map((r) => r.promptLength ?? 0)), [B]),
  };
  const out: Record<string, ort.Tensor> = {};
  for (const n of info.inputNames) out[n] = all[n];
  return out;
}

/** Runs a session and returns the output as rows of numbers ([B] → [[s]], [B, K] → rows). */
export async function runRows(session: ort.InferenceSession, f: Record<string, ort.Tensor>): Promise<number[][]> {
  const out = await session.run(f);
  const t = out[session.outputNames[0]];
  const data = Array.from(t.data as Float32Array, Number);
  const B = t.dims[0];
  const k = data.length / B;
  return Array.from({ length: B }, (_, b) => data.slice(b * k, (b + 1) * k));
}

export function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((r, i) => r.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

export function std(values: number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

/** Input/output names, element types and ranks of a session, for signature checks. */
export function signature(session: ort.InferenceSession): { inputs: string[]; outputs: string[] } {
  const fmt = (m: ort.InferenceSession.ValueMetadata) =>
    m.isTensor ? `${m.name}:${m.type}[${m.shape.join(',')}]` : `${m.name}:non-tensor`;
  return { inputs: session.inputMetadata.map(fmt), outputs: session.outputMetadata.map(fmt) };
}

/** A fresh temporary directory under the OS temp dir. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}
