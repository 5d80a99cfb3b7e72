import { parseArgs } from 'node:util';
import { AutoReranker, type AutoRerankerOptions, type CliFlag, cliFlagName, ENGINE_OPTION_NAMES, ENGINE_OPTIONS, type EngineOptionDecl } from '@rerank/engine';
import { readPairChunks } from './read-pairs';

/** One help line per flag: the flag and its argument, then the doc and default from the contract. */
function flagLines(section: CliFlag['section']): string {
  return ENGINE_OPTION_NAMES.flatMap((name) => {
    const d: EngineOptionDecl = ENGINE_OPTIONS[name];
    if (d.cli?.section !== section) return [];
    const arg = { boolean: '', int: ' <n>', ints: ' <list>', string: ' <s>', devices: ' <list>' }[d.cli.kind];
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
  --family <name>                     encoder | llm | layerwise | lightweight (default: from reranker.json,
                                      the model name, then config.json architectures)
${flagLines('model')}

Scoring (the reference's options; lists are comma separated; "\\n" in formats becomes a newline)
${flagLines('scoring')}

Output
  --stats                             print pairs, seconds and pairs/s to stderr at the end
`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
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

export function parseScoreArgs(argv: string[]): { model: string; options: AutoRerankerOptions; input?: string; stats: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      family: { type: 'string' },
      ...ENGINE_FLAGS,
      stats: { type: 'boolean' },
      input: { type: 'string', short: 'i' },
    },
  });
  if (typeof values.model !== 'string' || !values.model) throw new Error('--model is required (a model directory, a name under the cache directory, or a hub id)');
  if (positionals.length > 1) throw new Error(`one input file at most, got ${positionals.join(' ')}`);
  const options: Record<string, unknown> = {};
  if (values.family !== undefined) options.family = values.family;
  // Flags not given stay out, so each class applies its own defaults and checks.
  for (const name of ENGINE_OPTION_NAMES) {
    const cli = (ENGINE_OPTIONS[name] as EngineOptionDecl).cli;
    const flag = cliFlagName(name);
    const given = (values as Record<string, string | boolean | undefined>)[flag];
    if (cli && given !== undefined) options[name] = flagValue(cli.kind, flag, given);
  }
  const input = typeof values.input === 'string' ? values.input : positionals[0];
  return { model: values.model, options: options as AutoRerankerOptions, input, stats: values.stats === true };
}

/** Pairs scored per engine call: large enough to batch well, small enough to stream. */
const CHUNK = 8192;

export async function runScore(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { model, options, input, stats } = parseScoreArgs(argv);
  const reranker = await AutoReranker.fromFinetuned(model, options);
  let count = 0;
  let started = 0n;
  try {
    await reranker.ready();
    // Timed from here: model loading is not scoring.
    started = process.hrtime.bigint();
    for await (const pairs of readPairChunks(input, CHUNK)) {
      // Pair-major: a number per pair, or a list per pair (one score per layer).
      const scores = await reranker.score(pairs);
      const lines = scores.map((score, i) => JSON.stringify({ index: count + i, score }));
      count += pairs.length;
      if (!out.write(`${lines.join('\n')}\n`)) await new Promise((resolve) => out.once('drain', resolve));
    }
  } finally {
    await reranker.close();
  }
  if (stats) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(`scored ${count} pairs in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(1)} pairs/s, model loading excluded)\n`);
  }
}
