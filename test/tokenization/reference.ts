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

interface Flat {
  lengths: number[];
  flat: number[];
}

function unflatten(f: Flat): number[][] {
  const out: number[][] = [];
  let k = 0;
  for (const n of f.lengths) {
    out.push(f.flat.slice(k, k + n));
    k += n;
  }
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
  private readonly waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  /** Chunks of the answer being read (answers are megabytes: no rescanning of what came before). */
  private chunks: string[] = [];
  private stderr = '';

  constructor() {
    this.child = spawn(PYTHON, [join(ROOT, 'python', 'tokenization', 'oracle.py')], { env: pythonEnv });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n')) {
        this.chunks.push(chunk.slice(0, i));
        chunk = chunk.slice(i + 1);
        const line = this.chunks.join('');
        this.chunks = [];
        this.waiting.shift()?.resolve(JSON.parse(line) as Record<string, unknown>);
      }
      if (chunk) this.chunks.push(chunk);
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`oracle.py exited (${code}):\n${this.stderr}`));
    });
  }

  private async ask(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(request) + '\n');
    });
    if (typeof answer.error === 'string') throw new Error(`oracle.py: ${answer.error}`);
    return answer;
  }

  /** The Rust tokenizer's ids of each text (no special tokens added). */
  async encode(dir: string, texts: string[]): Promise<number[][]> {
    return unflatten((await this.ask({ op: 'encode', dir, texts })) as unknown as Flat);
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
    const types = answer.type_ids as Flat | null;
    return { ids: unflatten(answer as unknown as Flat), ...(types ? { typeIds: unflatten(types) } : {}) };
  }

  /** Ends the process (it exits at the end of its input). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}
