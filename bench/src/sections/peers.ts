/**
 * Section: the engine against its Python peers on the same machine, the same weights, the same pairs
 * and the same thread count, timed alternating (engine / FlagEmbedding / CrossEncoder, round after
 * round). The checkpoint is a MiniLM-size BERT cross-encoder made locally by python/bench/peers.py
 * (random weights, a WordPiece tokenizer trained on the benchmark's texts); the torch peers load it,
 * the engine loads its export by scripts/export-onnx.py. Needs the Python side (`npm run
 * setup:python`); without it the section says so and the rest of the bench runs.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { FlagReranker, type Pair } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { alternate, fmt, row } from '../measure';
import { enginePlan, fixedRowsPlan } from '../runtime/plans';
import type { BenchContext, Metric, Row, Section, SectionResult } from '../types';
import { CORPUS_SEED } from './encoder';
import { compareServers, type LoadSpec } from './peer-servers';
import { speedRatio } from './observations';

const ROOT = resolve(__dirname, '../../../..');
const VENV = process.env.RERANK_PYTHON_VENV ?? join(ROOT, '.venv');
/** infinity-emb's own environment (its pins conflict with the main one's): `npm run setup:python -- --peers`. */
const PEERS_VENV = process.env.RERANK_PEERS_VENV ?? join(ROOT, '.venv-peers');
const PEERS_PY = join(ROOT, 'python', 'bench', 'peers.py');
const EXPORT_PY = join(ROOT, 'scripts', 'export-onnx.py');
/** Tokens of query + passage, for every contender (FlagEmbedding's and the engine's default). */
const MAX_LENGTH = 512;
const FULL_PAIRS = 500;
const QUICK_PAIRS = 64;
/** The server rows: 1 query × `documents` documents a request, at 1, 8 and 32 concurrent clients. */
const LEVELS: Record<'full' | 'quick', LoadSpec[]> = {
  full: [
    { clients: 1, requests: 8, documents: 100 },
    { clients: 8, requests: 16, documents: 100 },
    { clients: 32, requests: 32, documents: 100 },
  ],
  quick: [
    { clients: 1, requests: 2, documents: 20 },
    { clients: 8, requests: 8, documents: 20 },
    { clients: 32, requests: 32, documents: 20 },
  ],
};

export const PEER = {
  engine: 'engine: FlagReranker on ONNX Runtime (its own batching)',
  flag: 'FlagEmbedding 1.4.2 FlagReranker on PyTorch (its own batching)',
  crossEncoder: 'sentence-transformers 3.3.1 CrossEncoder on PyTorch (predict, batches of 32)',
};
const PEER_IDS: Record<string, 'flagembedding' | 'cross-encoder'> = { [PEER.flag]: 'flagembedding', [PEER.crossEncoder]: 'cross-encoder' };

interface PeerAnswer {
  ok: boolean;
  error?: string;
  n?: number;
  scores?: number[];
}

/** One Python peer as a child process answering JSON lines (python/bench/peers.py serve). */
class PeerProcess {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly answers: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(python: string, threads: number) {
    const t = String(threads);
    this.proc = spawn(python, [PEERS_PY, 'serve'], {
      env: {
        ...process.env,
        OMP_NUM_THREADS: t,
        MKL_NUM_THREADS: t,
        TOKENIZERS_PARALLELISM: 'false',
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        PYTHONUNBUFFERED: '1',
      },
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.answers.shift()?.(line));
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
  }

  request(message: Record<string, unknown>): Promise<PeerAnswer> {
    return new Promise((resolveAnswer, reject) => {
      const onExit = () => reject(new Error(`peers.py exited (${this.proc.exitCode}): ${this.stderr}`));
      this.proc.once('exit', onExit);
      this.answers.push((line) => {
        this.proc.off('exit', onExit);
        const a = JSON.parse(line) as PeerAnswer;
        if (!a.ok) reject(new Error(`peers.py ${String(message.op)}: ${a.error}`));
        else resolveAnswer(a);
      });
      this.proc.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill('SIGTERM');
  }
}

/** The checkpoint and its export, made once under the cache directory. */
function ensureModel(python: string, cacheDir: string, texts: string[], log: (m: string) => void): { checkpoint: string; onnx: string } {
  const base = join(cacheDir, 'peers');
  const checkpoint = join(base, 'minilm-bert');
  const onnx = join(base, 'minilm-bert-onnx');
  mkdirSync(base, { recursive: true });
  const env = { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
  if (!existsSync(join(checkpoint, 'config.json'))) {
    const textsFile = join(base, 'texts.json');
    writeFileSync(textsFile, JSON.stringify(texts));
    log('[peers] making the MiniLM-size BERT checkpoint (python/bench/peers.py make-encoder)');
    const r = spawnSync(python, [PEERS_PY, 'make-encoder', '--out', checkpoint, '--texts', textsFile], {
      encoding: 'utf8',
      env,
      timeout: 10 * 60_000,
    });
    if (r.status !== 0) throw new Error(`peers.py make-encoder failed (exit ${r.status}): ${(r.stdout + r.stderr).slice(-3000)}`);
  }
  if (!existsSync(join(onnx, 'onnx', 'model.onnx'))) {
    log('[peers] exporting it with scripts/export-onnx.py');
    const r = spawnSync(python, [EXPORT_PY, checkpoint, onnx, '--family', 'encoder'], { encoding: 'utf8', env, timeout: 10 * 60_000 });
    if (r.status !== 0) throw new Error(`scripts/export-onnx.py failed (exit ${r.status}): ${(r.stdout + r.stderr).slice(-3000)}`);
  }
  return { checkpoint, onnx };
}

/** Token positions a batch plan computes (rows × the batch's longest), over the pairs' real tokens. */
function computedOverReal(lengths: readonly number[], batches: readonly number[][]): number {
  const real = lengths.reduce((a, b) => a + b, 0);
  const computed = batches.reduce((sum, b) => sum + b.length * Math.max(...b.map((i) => lengths[i])), 0);
  return computed / real;
}

/**
 * Why the peers are slower, as token positions computed per real token on these pairs: the engine's
 * plan (chunks, length-sorted, 128 rows and 512 padded tokens at most per batch on CPU); FlagEmbedding's
 * (length-sorted batches of 128, and its batch-size probe runs the longest batch once more before
 * scoring); CrossEncoder.predict's (batches of 32 in input order, each padded to its longest pair).
 */
function paddingMetrics(group: string, lengths: number[]): Metric[] {
  const engine = enginePlan('engine', lengths, { batchSize: 128, maxBatchTokens: 512, padMultiple: 1 }).batches;
  const flag = fixedRowsPlan('flag', lengths, 128).batches;
  const inOrder = Array.from({ length: Math.ceil(lengths.length / 32) }, (_, b) =>
    Array.from({ length: Math.min(32, lengths.length - b * 32) }, (_, i) => b * 32 + i),
  );
  const name = (who: string) => `token positions computed / real tokens, ${who}`;
  return [
    {
      group,
      name: name('engine'),
      value: fmt(computedOverReal(lengths, engine)),
      notes: 'length-sorted chunks, at most 128 rows and 512 padded tokens a batch (CPU)',
    },
    {
      group,
      name: name('FlagEmbedding'),
      value: fmt(computedOverReal(lengths, [flag[0], ...flag])),
      notes: 'length-sorted batches of 128; the longest batch runs twice (its batch-size probe)',
    },
    {
      group,
      name: name('CrossEncoder'),
      value: fmt(computedOverReal(lengths, inOrder)),
      notes: 'batches of 32 in input order, each padded to its longest pair',
    },
  ];
}

export const peersSection: Section = {
  id: 'peers',
  title: 'Against the Python peers (same machine, weights, pairs and threads)',
  summary: 'the engine vs FlagEmbedding and sentence-transformers CrossEncoder on PyTorch, one MiniLM-size checkpoint',
  derive(result: SectionResult): void {
    // Per group: the baseline (the engine, or this service) over each peer, round by round.
    result.metrics = result.metrics.filter((m) => !m.headline);
    result.observations = [];
    const short = (c: string) => c.split(/ on | \(|: /)[0];
    for (const base of result.rows.filter((r) => r.baseline)) {
      for (const peer of result.rows.filter((r) => r.group === base.group && r !== base)) {
        const s = speedRatio(base, peer);
        result.metrics.push({
          group: base.group,
          name: `${short(base.configuration)} / ${short(peer.configuration)}`,
          value: fmt(s.value),
          unit: '×',
          headline: true,
          notes: s.rounds ? `median of ${s.rounds.length} round(s) (${s.rounds.map((x) => fmt(x, 2)).join(', ')})` : '',
        });
        result.observations.push(
          `${base.group}: ${s.value >= 1 ? 'ahead of' : '**behind**'} ${short(peer.configuration)}, ${fmt(s.value)}× its pairs per second.`,
        );
      }
    }
  },
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { quick, threads, cacheDir, runs } = ctx.options;
    const result: SectionResult = { id: 'peers', title: peersSection.title, description: [], rows: [], metrics: [], notes: [] };
    const python = join(VENV, 'bin', 'python');
    if (!existsSync(python)) {
      result.notes.push(`skipped: run npm run setup:python (the Python peers live in ${VENV}, which is missing)`);
      ctx.log('[peers] skipped: no Python environment (npm run setup:python)');
      return result;
    }
    const n = quick ? QUICK_PAIRS : (ctx.options.pairCounts?.[0] ?? FULL_PAIRS);
    const corpus = makeCorpus(CORPUS_SEED, { lengths: 'realistic' });
    const pairs: Pair[] = corpus.pairs(n);
    const texts = [...new Set(makeCorpus(CORPUS_SEED, { lengths: 'realistic' }).pairs(Math.max(n, 2000)).flat())];
    const { checkpoint, onnx } = ensureModel(python, cacheDir, texts, ctx.log);
    const group = `MiniLM-size BERT cross-encoder, ${n.toLocaleString('en-US')} pairs, ${threads} threads`;
    result.description.push(
      `One checkpoint, \`python/bench/peers.py make-encoder\`: BertForSequenceClassification with MiniLM-L6-H384's shape (hidden 384, 6 layers, 12 heads, vocabulary 30,522, random weights) and a WordPiece tokenizer trained on the benchmark's texts, saved with save_pretrained. ` +
        `The torch peers load that directory; the engine loads its export by \`scripts/export-onnx.py --family encoder\`. Same ${n.toLocaleString('en-US')} pairs (realistic length mix, seed ${CORPUS_SEED}), max_length ${MAX_LENGTH}, fp32 on CPU. ` +
        `Threads: the engine's intraOpNumThreads = torch.set_num_threads = ${threads} (OMP_NUM_THREADS and MKL_NUM_THREADS too). Each peer runs in its own Python process, timed from the benchmark's process around a JSON-lines request that scores all pairs (the pairs are sent beforehand, untimed); each contender is warmed up once, then timed once per round, contenders in turn, ${runs} round(s).`,
    );

    const engine = new FlagReranker(onnx, { devices: ['cpu'], intraOpNumThreads: threads, maxLength: MAX_LENGTH });
    const peers = new Map<string, PeerProcess>();
    const peerScores = new Map<string, number[]>();
    let engineScores: number[] = [];
    try {
      for (const [label, id] of Object.entries(PEER_IDS)) {
        const p = new PeerProcess(python, threads);
        peers.set(label, p);
        await p.request({ op: 'load', peer: id, checkpoint, threads, max_length: MAX_LENGTH });
        await p.request({ op: 'pairs', pairs });
      }
      const contenders = [
        {
          name: PEER.engine,
          warmup: async () => (engineScores = await engine.computeScore(pairs)),
          run: () => engine.computeScore(pairs),
        },
        ...[...peers.entries()].map(([label, p]) => ({
          name: label,
          warmup: async () => peerScores.set(label, (await p.request({ op: 'run' })).scores ?? []),
          run: () => p.request({ op: 'run' }),
        })),
      ];
      ctx.log(`[peers] ${contenders.length} contenders × ${runs} round(s) on ${n} pairs`);
      const alt = await alternate(contenders, runs);
      const alternation = `peers/${group}`;
      const rows: Row[] = contenders.map((c, i) => ({
        ...row('peers', group, c.name, n, alt.measurements[i], i === 0 ? `export at ${onnx}` : `checkpoint at ${checkpoint}`, i === 0),
        alternation,
      }));
      result.rows.push(...rows);
      for (const [label, scores] of peerScores) {
        const diff = Math.max(...scores.map((s, i) => Math.abs(s - engineScores[i])));
        const metric: Metric = {
          group,
          name: `max |engine − ${label.split(' ')[0]} ${label.includes('CrossEncoder') ? 'CrossEncoder' : 'FlagReranker'}| (raw logits, first ${scores.length} pairs)`,
          value: diff.toExponential(1),
        };
        result.metrics.push(metric);
      }
      const lengths = (await engine.inspectInputs(pairs)).map((p) => p.inputIds.length);
      result.metrics.push(...paddingMetrics(group, lengths));
    } finally {
      for (const p of peers.values()) p.stop();
      await engine.close();
    }
    const servers = await compareServers(ctx, { venv: PEERS_VENV, checkpoint, onnx, pairs, levels: LEVELS[quick ? 'quick' : 'full'] });
    result.rows.push(...servers.rows);
    result.metrics.push(...servers.metrics);
    result.notes.push(...servers.notes);
    result.description.push(
      `Servers: this service as \`npm start\` runs it (API, aggregator, one CPU worker with RERANK_THREADS=${threads}, a redis-server of its own) on the export, against Infinity (\`infinity_emb v2 --engine torch --device cpu --batch-size 32\`, OMP_NUM_THREADS=MKL_NUM_THREADS=${threads}, its own environment .venv-peers) on the checkpoint, both on loopback. ` +
        'RERANK_SYNC_TIMEOUT_MS is raised to 600 s for this (with the default 30 s, 32 clients × 100 documents on one 2-thread worker queue past it and get 504, where Infinity just queues). Closed-loop clients in this process: each sends its next request when the last is answered; pairs/s = all documents scored / wall time; latency per request. Each concurrency level alternates the two servers round by round.',
    );
    result.notes.push('Not measured yet: an LLM-family row (FlagLLMReranker on PyTorch against the engine).');
    return result;
  },
};
