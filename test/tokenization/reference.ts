/**
 * The reference side of the differential test: tokenizers built by python/tokenization/make_tokenizers.py
 * (the way real ones are built, cached in .cache/tokenizers) and python/tokenization/oracle.py, a
 * process that answers with the Rust `tokenizers` (and FlagEmbedding's pair layout).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const VENV = process.env.RERANK_PYTHON_VENV ?? join(ROOT, '.venv');
const PYTHON = join(VENV, 'bin', 'python');
export const TOKENIZERS_DIR = process.env.RERANK_TOKENIZERS_DIR ?? join(ROOT, '.cache', 'tokenizers');

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
  single_word: boolean;
}

export interface ReferenceTokenizer {
  name: string;
  /** encoder: pairs framed by the tokenizer's template; llm: the decoder layout. */
  kind: 'encoder' | 'llm';
  /** A special token that is matched in raw text, stands between independent inputs packed in one string. */
  separator: string;
  /** The contexts every code point is tried in: all of them, or alone. */
  sweep: 'full' | 'alone';
  dir: string;
  addedTokens: AddedToken[];
  /** The tokenizer.json has a normalizer. */
  normalizes: boolean;
}

const pythonEnv = { ...process.env, TOKENIZERS_PARALLELISM: 'true', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' };

/** Builds the tokenizers (a no-op when cached) and lists them. Fails, never skips, without Python. */
export function referenceTokenizers(): ReferenceTokenizer[] {
  if (!existsSync(PYTHON)) {
    throw new Error(`the differential tokenizer test needs the Python side (${PYTHON} is missing): run \`npm run setup:python\` once`);
  }
  const run = spawnSync(PYTHON, [join(ROOT, 'python', 'tokenization', 'make_tokenizers.py'), '--out', TOKENIZERS_DIR], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
    env: pythonEnv,
  });
  if (run.status !== 0) throw new Error(`make_tokenizers.py failed (exit ${run.status}):\n${(run.stdout + run.stderr).slice(-4000)}`);
  const index = JSON.parse(readFileSync(join(TOKENIZERS_DIR, 'index.json'), 'utf8')) as Omit<
    ReferenceTokenizer,
    'addedTokens' | 'normalizes'
  >[];
  return index.map((t) => {
    const json = JSON.parse(readFileSync(join(t.dir, 'tokenizer.json'), 'utf8')) as { added_tokens: AddedToken[]; normalizer: unknown };
    return { ...t, addedTokens: json.added_tokens, normalizes: json.normalizer !== null };
  });
}

/** The lists of one answer, by name (see oracle.py's docstring for the format). */
type Answer = Map<string, number[][]>;

/** Splits `count` lengths and their values (little-endian int32) into lists. */
function readLists(bytes: Buffer, count: number, size: number): number[][] {
  const words = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const out: number[][] = [];
  let k = count;
  for (let i = 0; i < count; i++) {
    out.push(Array.from(words.subarray(k, k + words[i])));
    k += words[i];
  }
  if (k !== count + size) throw new Error(`oracle.py: ${size} values announced, ${k - count} read`);
  return out;
}

export interface PairRequest {
  kind: 'encoder' | 'llm';
  pairs: [string, string][];
  maxLength: number;
  queryMaxLength: number;
  prompt: string;
}

/** One python/tokenization/oracle.py process; requests are answered in order. */
export class Oracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (v: Answer) => void; reject: (e: Error) => void }[] = [];
  /** Bytes received and not yet consumed: a header line, then the binary lists it announces. */
  private pending: Buffer = Buffer.alloc(0);
  private stderr = '';

  constructor() {
    this.child = spawn(PYTHON, [join(ROOT, 'python', 'tokenization', 'oracle.py')], { env: pythonEnv });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      for (let answer = this.take(); answer; answer = this.take()) {
        const waiter = this.waiting.shift();
        if (answer instanceof Error) waiter?.reject(answer);
        else waiter?.resolve(answer);
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`oracle.py exited (${code}):\n${this.stderr}`));
    });
  }

  /** The first complete answer in `pending`, consumed; undefined while it is still arriving. */
  private take(): Answer | Error | undefined {
    const eol = this.pending.indexOf(10);
    if (eol < 0) return undefined;
    const header = JSON.parse(this.pending.subarray(0, eol).toString('utf8')) as {
      lists?: [string, number, number][];
      error?: string;
    };
    if (header.error !== undefined) {
      this.pending = this.pending.subarray(eol + 1);
      return new Error(`oracle.py: ${header.error}`);
    }
    const lists = header.lists ?? [];
    const total = lists.reduce((n, [, count, size]) => n + 4 * (count + size), 0);
    if (this.pending.length < eol + 1 + total) return undefined;
    const answer: Answer = new Map();
    let at = eol + 1;
    for (const [name, count, size] of lists) {
      answer.set(name, readLists(this.pending.subarray(at, at + 4 * (count + size)), count, size));
      at += 4 * (count + size);
    }
    this.pending = this.pending.subarray(at);
    return answer;
  }

  private ask(request: Record<string, unknown>): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(request) + '\n');
    });
  }

  /** The Rust tokenizer's ids of each text (no special tokens added). */
  async encode(dir: string, texts: string[]): Promise<number[][]> {
    return (await this.ask({ op: 'encode', dir, texts })).get('ids')!;
  }

  /** FlagEmbedding's model input for each pair. */
  async pairs(dir: string, r: PairRequest): Promise<{ ids: number[][]; typeIds?: number[][] }> {
    const answer = await this.ask({
      op: 'pairs',
      dir,
      kind: r.kind,
      pairs: r.pairs,
      max_length: r.maxLength,
      query_max_length: r.queryMaxLength,
      prompt: r.prompt,
    });
    const types = answer.get('type_ids');
    return { ids: answer.get('ids')!, ...(types ? { typeIds: types } : {}) };
  }

  /** Ends the process (it exits at the end of its input). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}
