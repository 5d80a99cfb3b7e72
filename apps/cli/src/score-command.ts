import { parseArgs } from 'node:util';
import { AutoReranker, type AutoRerankerOptions, type Pair } from '@rerank/engine';
import { countPairLines, readPairChunks } from './read-pairs';
import { scoreProgress } from './score-progress';

export const SCORE_HELP = `rerank score --model <dir|name> [options] [input.jsonl]

Scores (query, passage) pairs read as JSON lines ({"query": "...", "passage": "..."} or
["query", "passage"]) from a file, or from stdin when no file (or "-") is given. Prints one
JSON line per pair, in input order: {"index": 0, "score": 1.23} (a list of scores, one per
layer, when several --cutoff-layers are asked for).

Model
  --model <dir|name>                  model directory (Hugging Face layout), a name under the cache
                                      directory, or a hub id (downloaded once into the cache)
  --family <name>                     encoder | llm | layerwise | lightweight (default: from reranker.json,
                                      the model name, then config.json architectures)
  --cache-dir <dir>                   where names are looked up and downloads cached
                                      (default $RERANK_CACHE_DIR or ~/.cache/rerank)
  --revision <rev>                    hub revision (default main); HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE apply
  --offline                           never download
  --trust-remote-code                 accepted for parity; ONNX graphs run no model code

Scoring (the reference's options)
  --use-fp16                          the model's fp16 graph on GPUs (ignored on CPU)
  --quantized                         the model's int8 graph (model_quantized.onnx)
  --query-instruction-for-rerank <s>  instruction put before each query
  --query-instruction-format <f>      default "{}{}" (instruction, query); "\\n" becomes a newline
  --passage-instruction-for-rerank <s>
  --passage-instruction-format <f>
  --devices <list>                    cpu, cuda:0, 1, ... comma separated (default: every GPU, else cpu)
  --batch-size <n>                    rows per batch (default 128)
  --max-batch-tokens <n>              padded tokens per batch (default 512 on CPU, 65536 on GPU)
  --threads <n>                       runtime threads per device session (default: runtime's choice)
  --max-length <n>                    default 512
  --query-max-length <n>              default 3/4 of --max-length
  --normalize                         sigmoid of each score
  --prompt <s>                        LLM families: the prompt after the pair
  --cutoff-layers <list>              layer-wise / light-weight: layers to read, comma separated
  --compress-ratio <n>                light-weight: 1, 2, 4 or 8
  --compress-layers <list>            light-weight: layers where tokens are compressed

Output
  --chunk-size <n>                    pairs per engine call (default 256): each chunk's lines are written
                                      as soon as it is scored, in input order, while the next one computes
  --stats                             print pairs, seconds and pairs/s to stderr at the end
  A progress bar goes to stderr when it is a terminal (never into the output).
`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
const ints = (name: string, v: string | undefined) => list(v)?.map((s) => toInt(name, s));
function toInt(name: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new Error(`--${name}: expected an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}
const int = (name: string, v: string | undefined) => (v === undefined ? undefined : toInt(name, v));

export interface ScoreArgs {
  model: string;
  options: AutoRerankerOptions;
  input?: string;
  stats: boolean;
  chunkSize: number;
}

export function parseScoreArgs(argv: string[]): ScoreArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      family: { type: 'string' },
      'cache-dir': { type: 'string' },
      revision: { type: 'string' },
      offline: { type: 'boolean' },
      'trust-remote-code': { type: 'boolean' },
      'use-fp16': { type: 'boolean' },
      quantized: { type: 'boolean' },
      'query-instruction-for-rerank': { type: 'string' },
      'query-instruction-format': { type: 'string' },
      'passage-instruction-for-rerank': { type: 'string' },
      'passage-instruction-format': { type: 'string' },
      devices: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-batch-tokens': { type: 'string' },
      threads: { type: 'string' },
      'max-length': { type: 'string' },
      'query-max-length': { type: 'string' },
      normalize: { type: 'boolean' },
      prompt: { type: 'string' },
      'cutoff-layers': { type: 'string' },
      'compress-ratio': { type: 'string' },
      'compress-layers': { type: 'string' },
      stats: { type: 'boolean' },
      'chunk-size': { type: 'string' },
      input: { type: 'string', short: 'i' },
    },
  });
  if (!values.model) throw new Error('--model is required (a model directory, a name under the cache directory, or a hub id)');
  if (positionals.length > 1) throw new Error(`one input file at most, got ${positionals.join(' ')}`);
  const devices = list(values.devices)?.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
  const options: AutoRerankerOptions = {
    family: values.family,
    cacheDir: values['cache-dir'],
    revision: values.revision,
    offline: values.offline,
    trustRemoteCode: values['trust-remote-code'],
    useFp16: values['use-fp16'],
    quantized: values.quantized,
    queryInstructionForRerank: values['query-instruction-for-rerank'],
    queryInstructionFormat: values['query-instruction-format'],
    passageInstructionForRerank: values['passage-instruction-for-rerank'],
    passageInstructionFormat: values['passage-instruction-format'],
    devices,
    batchSize: int('batch-size', values['batch-size']),
    maxBatchTokens: int('max-batch-tokens', values['max-batch-tokens']),
    intraOpNumThreads: int('threads', values.threads),
    maxLength: int('max-length', values['max-length']),
    queryMaxLength: int('query-max-length', values['query-max-length']),
    normalize: values.normalize,
    prompt: values.prompt,
    cutoffLayers: ints('cutoff-layers', values['cutoff-layers']),
    compressRatio: int('compress-ratio', values['compress-ratio']),
    compressLayers: ints('compress-layers', values['compress-layers']),
  };
  // Flags not given stay out, so each class applies its own defaults and checks.
  for (const key of Object.keys(options) as (keyof AutoRerankerOptions)[]) if (options[key] === undefined) delete options[key];
  const chunkSize = int('chunk-size', values['chunk-size']) ?? DEFAULT_CHUNK;
  if (chunkSize < 1) throw new Error(`--chunk-size: expected a positive integer, got ${chunkSize}`);
  return { model: values.model, options, input: values.input ?? positionals[0], stats: values.stats ?? false, chunkSize };
}

/** Pairs per engine call: enough for a few full batches, few enough that lines come out every few seconds. */
const DEFAULT_CHUNK = 256;
/** Chunks scored at once: the next one tokenizes and queues its batches while the current one finishes. */
const IN_FLIGHT = 2;

export async function runScore(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { model, options, input, stats, chunkSize } = parseScoreArgs(argv);
  const reranker = await AutoReranker.fromFinetuned(model, options);
  const progress = scoreProgress(process.stderr);
  let count = 0;
  let read = 0;
  let started = 0n;
  try {
    await reranker.ready();
    // Timed from here: model loading is not scoring.
    started = process.hrtime.bigint();
    if (progress.active && input && input !== '-') progress.setTotal(await countPairLines(input));
    // Chunks in input order; each one's lines are written once it and every earlier one are scored.
    const pending: { first: number; scores: Promise<unknown[]> }[] = [];
    const writeOldest = async () => {
      const { first, scores } = pending.shift() as (typeof pending)[number];
      // Pair-major: a number per pair, or a list per pair (one score per layer).
      const lines = (await scores).map((score, i) => JSON.stringify({ index: first + i, score }));
      count += lines.length;
      if (!out.write(`${lines.join('\n')}\n`)) await new Promise((resolve) => out.once('drain', resolve));
      progress.scored(count);
    };
    for await (const pairs of readPairChunks(input, chunkSize)) {
      const scores = reranker.score(pairs as Pair[]) as Promise<unknown[]>;
      // Awaited in order below; until then a failure must not count as unhandled.
      scores.catch(() => undefined);
      pending.push({ first: read, scores });
      read += pairs.length;
      progress.read(read);
      while (pending.length >= IN_FLIGHT) await writeOldest();
    }
    while (pending.length) await writeOldest();
  } finally {
    progress.stop();
    await reranker.close();
  }
  if (stats) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(`scored ${count} pairs in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(1)} pairs/s, model loading excluded)\n`);
  }
}
