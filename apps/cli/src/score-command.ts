import { parseArgs } from 'node:util';
import {
  AutoReranker,
  type AutoRerankerOptions,
  type CliFlag,
  cliFlagName,
  ENGINE_OPTION_NAMES,
  ENGINE_OPTIONS,
  type EngineOptionDecl,
} from '@rerank/engine';
import { countPairLines, readPairChunks } from './read-pairs';
import { scoreProgress } from './score-progress';

/** Options whose value may be null: on the command line, the text `null` gives null. */
function nullable(d: EngineOptionDecl): boolean {
  return d.field.schema.safeParse(null).success;
}

/** One help line per flag: the flag and its argument, then the doc and default from the contract. */
function flagLines(section: CliFlag['section']): string {
  return ENGINE_OPTION_NAMES.flatMap((name) => {
    const d: EngineOptionDecl = ENGINE_OPTIONS[name];
    if (d.cli?.section !== section) return [];
    const arg =
      { boolean: '', int: ' <n>', ints: ' <list>', string: ' <s>', devices: ' <list>', json: ' <json>' }[d.cli.kind] +
      (nullable(d) ? '|null' : '');
    const usage = `  --${cliFlagName(name)}${arg}`;
    const indent = ' '.repeat(38);
    const head = usage.length > 36 ? `${usage}\n${indent}` : usage.padEnd(38);
    const families = d.families ? ` [${d.families.join(' / ')}]` : '';
    const defaults = d.default && d.cli.kind !== 'boolean' ? `default ${d.default.text}` : '';
    const line = `${head}${d.doc}${families}`;
    // The default on the same line when it fits, else under the doc.
    if (!defaults) return [line];
    return [line.length - line.lastIndexOf('\n') + defaults.length < 110 ? `${line} (${defaults})` : `${line}\n${indent}${defaults}`];
  }).join('\n');
}

export const SCORE_HELP = `rerank score --model <dir|name> [options] [input.jsonl]

Scores (query, passage) pairs read as JSON lines ({"query": "...", "passage": "..."} or
["query", "passage"]) from a file, or from stdin when no file (or "-") is given. Prints one
JSON line per pair, in input order: {"index": 0, "score": 1.23} (a list of scores, one per
layer, when several --cutoff-layers are asked for).

Model
  --model <dir|name>                  model directory (Hugging Face layout), a name under the cache
                                      directory, or a hub id (downloaded once into the cache)
  --family <name>                     encoder | llm | layerwise | lightweight | qwen3 (default: from reranker.json,
                                      the model name, then config.json architectures)
${flagLines('model')}

Scoring (the reference's options; lists are comma separated; "\\n" in formats becomes a newline;
--no-<flag> sets a yes/no option to false; "null" is None for the options that take it, as in Python:
for an instruction, none at all)
${flagLines('scoring')}

Output
  --chunk-size <n>                    pairs per engine call (default 256): each chunk's lines are written
                                      as soon as it is scored, in input order, while the next one computes
  --stats                             print pairs, seconds and pairs/s to stderr at the end
  A progress bar goes to stderr when it is a terminal (never into the output).
`;

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
function toInt(name: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new Error(`--${name}: expected an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** A flag's text as the option's value; the engine checks the value against the contract. */
function flagValue(kind: CliFlag['kind'], flag: string, v: string | boolean): unknown {
  if (typeof v === 'boolean') return v;
  switch (kind) {
    case 'int':
      return toInt(flag, v);
    case 'ints':
      return list(v)?.map((s) => toInt(flag, s));
    case 'devices':
      return list(v)?.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
    case 'json':
      try {
        return JSON.parse(v) as unknown;
      } catch (e) {
        throw new Error(`--${flag}: expected JSON, got ${JSON.stringify(v)} (${(e as Error).message})`, { cause: e });
      }
    default:
      return v;
  }
}

/** The engine options that have a flag, as parseArgs options. */
const ENGINE_FLAGS = Object.fromEntries(
  ENGINE_OPTION_NAMES.flatMap((name) => {
    const cli = (ENGINE_OPTIONS[name] as EngineOptionDecl).cli;
    return cli ? [[cliFlagName(name), { type: cli.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]] : [];
  }),
);

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
    // --no-normalize and the like: qwen3 normalizes unless told not to.
    allowNegative: true,
    options: {
      model: { type: 'string' },
      family: { type: 'string' },
      ...ENGINE_FLAGS,
      stats: { type: 'boolean' },
      'chunk-size': { type: 'string' },
      input: { type: 'string', short: 'i' },
    },
  });
  if (typeof values.model !== 'string' || !values.model)
    throw new Error('--model is required (a model directory, a name under the cache directory, or a hub id)');
  if (positionals.length > 1) throw new Error(`one input file at most, got ${positionals.join(' ')}`);
  const options: Record<string, unknown> = {};
  if (values.family !== undefined) options.family = values.family;
  // Flags not given stay out, so each class applies its own defaults and checks.
  for (const name of ENGINE_OPTION_NAMES) {
    const cli = (ENGINE_OPTIONS[name] as EngineOptionDecl).cli;
    const flag = cliFlagName(name);
    const given = (values as Record<string, string | boolean | undefined>)[flag];
    if (cli && given !== undefined)
      options[name] = given === 'null' && nullable(ENGINE_OPTIONS[name]) ? null : flagValue(cli.kind, flag, given);
  }
  const chunkRaw = values['chunk-size'];
  const chunkSize = typeof chunkRaw === 'string' ? toInt('chunk-size', chunkRaw) : DEFAULT_CHUNK;
  if (chunkSize < 1) throw new Error(`--chunk-size: expected a positive integer, got ${chunkSize}`);
  const input = typeof values.input === 'string' ? values.input : positionals[0];
  return { model: values.model, options, input, stats: values.stats === true, chunkSize };
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
  let started: bigint;
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
      const scores = reranker.score(pairs) as Promise<unknown[]>;
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
    process.stderr.write(
      `scored ${count} pairs in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(1)} pairs/s, model loading excluded)\n`,
    );
  }
}
