/**
 * The engine's options, each declared once: value type and range (engine and HTTP API), default,
 * families, constructor-only or per call, doc, and command-line flag. Derived from this table:
 * the TypeScript option types (types.ts, per-family types), the engine's checks (options.ts), the
 * API's checks (@rerank/jobs validation), the OpenAPI schemas, and `rerank score`'s flags and help.
 */
import { z } from 'zod';
import { type BatchStats, type Family, TRUNCATIONS } from '../types';
import { formatInstruction } from '../instructions';
import { promptFormatter, QWEN3_DEFAULT_INSTRUCTION } from '../prompt-template';
import { RerankerArgumentError } from '../errors';
import { type Field, fields, refined } from './field';

export const COMPRESS_RATIOS = [1, 2, 4, 8] as const;
/** FlagEmbedding's families: its instruction and query-length options. */
const FLAG_FAMILIES = ['encoder', 'llm', 'layerwise', 'lightweight'] as const;
const LLM_FAMILIES = ['llm', 'layerwise', 'lightweight'] as const;
const LAYER_FAMILIES = ['layerwise', 'lightweight'] as const;

/** Constructor options that are not numbers, texts or lists: described by schema only. */
const deviceSpec = z.union([z.string(), z.int().min(0)]);

/** How the option is given on `rerank score`'s command line. */
export interface CliFlag {
  /** Flag name without "--" (default: the option name in kebab-case). */
  flag?: string;
  kind: 'boolean' | 'int' | 'ints' | 'string' | 'devices' | 'json';
  section: 'model' | 'scoring';
}

export interface EngineOptionDecl {
  /** What the engine accepts (ranges of the engine itself). */
  field: Field;
  /** Documented default; `value` when it is a constant the engine fills in. */
  default?: { value?: unknown; text: string };
  /** Families that take the option; absent: all. */
  families?: readonly Family[];
  /** 'call': a constructor option that can also be overridden per `computeScore` / `score` call. */
  scope: 'constructor' | 'call';
  doc: string;
  /** Over HTTP (snake_case field): the service's bounds; absent: not an API field. */
  api?: { field: Field; default?: string };
  cli?: CliFlag;
}

/** The API's instruction-format check: the engine's own formatter must accept the format. */
function formatParses(field: string) {
  return (format: string): string | null => {
    try {
      formatInstruction(format, 'instruction', 'text', field);
      return null;
    } catch (e) {
      if (e instanceof RerankerArgumentError) return e.message.slice(field.length + 2);
      throw e;
    }
  };
}

/** The API's prompt-template check: the engine's own formatter must accept the format. */
function templateParses(template: { prefix: string; format: string; suffix: string } | null): string | null {
  if (template === null) return null;
  try {
    promptFormatter(template, 'prompt_template');
    return null;
  } catch (e) {
    if (e instanceof RerankerArgumentError) return e.message.slice('prompt_template: '.length);
    throw e;
  }
}
const TEMPLATE_KEYS = ['prefix', 'format', 'suffix'] as const;

const LAYERS_EXPECT = 'a non-empty list of layer numbers';
const API_LAYERS = { maxItems: 256, maxLayer: 1000, expect: 'a non-empty list of layer numbers (integers >= 0)' };
const API_MAX_TOKENS = 131072;

export const ENGINE_OPTIONS = {
  useFp16: {
    field: fields.bool(),
    default: { value: false, text: 'false' },
    scope: 'constructor',
    doc: "the model's fp16 graph on GPUs (ignored on CPU)",
    cli: { kind: 'boolean', section: 'scoring' },
  },
  queryInstructionForRerank: {
    field: fields.nullableText(),
    default: { text: 'none; "A: " for the LLM families' },
    families: FLAG_FAMILIES,
    scope: 'call',
    doc: 'instruction put before each query (null: none)',
    api: { field: fields.nullableText(10000) },
    cli: { kind: 'string', section: 'scoring' },
  },
  queryInstructionFormat: {
    field: fields.text(),
    default: { value: '{}{}', text: '"{}{}" (instruction, query)' },
    families: FLAG_FAMILIES,
    scope: 'call',
    doc: 'format of instruction and query, Python str.format style',
    api: { field: refined(fields.text(1000), formatParses('query_instruction_format')) },
    cli: { kind: 'string', section: 'scoring' },
  },
  passageInstructionForRerank: {
    field: fields.nullableText(),
    default: { text: 'none; "B: " for the LLM families' },
    families: FLAG_FAMILIES,
    scope: 'call',
    doc: 'instruction put before each document (null: none)',
    api: { field: fields.nullableText(10000) },
    cli: { kind: 'string', section: 'scoring' },
  },
  passageInstructionFormat: {
    field: fields.text(),
    default: { value: '{}{}', text: '"{}{}" (instruction, document)' },
    families: FLAG_FAMILIES,
    scope: 'call',
    doc: 'format of instruction and document, Python str.format style',
    api: { field: refined(fields.text(1000), formatParses('passage_instruction_format')) },
    cli: { kind: 'string', section: 'scoring' },
  },
  devices: {
    field: { schema: z.union([deviceSpec, z.array(deviceSpec)]).nullable(), expect: "'cpu', 'cuda', 'cuda:N', N, a list of them, or null" },
    default: { text: 'every GPU when CUDA is present, else cpu' },
    scope: 'constructor',
    doc: 'cpu, cuda:0, 1, ... (comma separated on the command line)',
    cli: { kind: 'devices', section: 'scoring' },
  },
  batchSize: {
    field: fields.int(1),
    default: { value: 128, text: '128' },
    scope: 'call',
    doc: 'pairs (rows) per model batch',
    api: { field: fields.int(1, 4096) },
    cli: { kind: 'int', section: 'scoring' },
  },
  queryMaxLength: {
    field: fields.nullableInt(0),
    default: { text: '3/4 of the maximum length; none with longest_first truncation' },
    families: FLAG_FAMILIES,
    scope: 'call',
    doc: 'tokens of the query',
    api: { field: fields.nullableInt(0, API_MAX_TOKENS) },
    cli: { kind: 'int', section: 'scoring' },
  },
  maxLength: {
    field: fields.int(1),
    default: { text: "the model's (reranker.json max_length), else 512; 8192 for qwen3" },
    scope: 'call',
    doc: 'tokens of query + document + special tokens (qwen3: of the whole prompt)',
    // At least 16 over HTTP: room for any pair template and some text.
    api: { field: fields.int(16, API_MAX_TOKENS) },
    cli: { kind: 'int', section: 'scoring' },
  },
  normalize: {
    field: fields.bool(),
    default: { text: 'false; true for qwen3' },
    scope: 'call',
    doc: 'sigmoid of each score (0..1; qwen3: the probability of "yes")',
    api: {
      field: fields.bool(),
      default: "true on the synchronous rerank routes (Cohere / Jina / vLLM scores are 0..1); for jobs the model's (false; true for qwen3)",
    },
    cli: { kind: 'boolean', section: 'scoring' },
  },
  trustRemoteCode: {
    field: fields.bool(),
    default: { text: 'false' },
    scope: 'constructor',
    doc: 'accepted for parity; ONNX graphs run no model code',
    cli: { kind: 'boolean', section: 'model' },
  },
  cacheDir: {
    field: fields.nullableText(),
    default: { text: '$RERANK_CACHE_DIR or ~/.cache/rerank' },
    scope: 'constructor',
    doc: 'where model names are looked up and hub downloads cached',
    cli: { kind: 'string', section: 'model' },
  },
  maxBatchTokens: {
    field: fields.int(1),
    default: { text: '512 on CPU, 65536 on GPU' },
    scope: 'call',
    doc: 'padded tokens (rows x padded length) per model batch',
    api: { field: fields.int(1, 16777216) },
    cli: { kind: 'int', section: 'scoring' },
  },
  intraOpNumThreads: {
    field: fields.int(0),
    default: { value: 0, text: "0, the runtime's choice" },
    scope: 'constructor',
    doc: 'runtime threads inside one operator, per device session',
    cli: { flag: 'threads', kind: 'int', section: 'scoring' },
  },
  quantized: {
    field: fields.bool(),
    default: { value: false, text: 'false' },
    scope: 'constructor',
    doc: "the model's int8 graph (model_quantized.onnx)",
    cli: { kind: 'boolean', section: 'scoring' },
  },
  sessionOptions: {
    field: { schema: z.record(z.string(), z.unknown()), expect: 'an object of onnxruntime session options' },
    default: { value: {}, text: '{}' },
    scope: 'constructor',
    doc: "further onnxruntime InferenceSession options over the engine's defaults (devices and threads still decide provider and thread count)",
  },
  revision: {
    field: fields.text(),
    default: { text: 'main' },
    scope: 'constructor',
    doc: 'hub revision (branch, tag or commit); HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE apply',
    cli: { kind: 'string', section: 'model' },
  },
  hubEndpoint: {
    field: fields.text(),
    default: { text: '$HF_ENDPOINT or https://huggingface.co' },
    scope: 'constructor',
    doc: 'hub download endpoint',
  },
  hubToken: {
    field: fields.text(),
    default: { text: '$HF_TOKEN' },
    scope: 'constructor',
    doc: 'hub download token',
  },
  offline: {
    field: fields.bool(),
    default: { text: '$HF_HUB_OFFLINE' },
    scope: 'constructor',
    doc: 'never download from the hub',
    cli: { kind: 'boolean', section: 'model' },
  },
  onWarning: {
    field: { schema: z.custom<(message: string) => void>((v) => typeof v === 'function'), expect: 'a function' },
    default: { text: 'console.warn' },
    scope: 'constructor',
    doc: 'called with warnings (fp16 asked on CPU, a variant missing, ...)',
  },
  onBatch: {
    field: { schema: z.custom<(stats: BatchStats) => void>((v) => typeof v === 'function'), expect: 'a function' },
    default: { text: 'none' },
    scope: 'constructor',
    doc: 'called after each batch a device ran (rows, real and padded tokens: padding efficiency); never changes scores',
  },
  prompt: {
    field: fields.nullableText(),
    default: { text: "the family's prompt" },
    families: LLM_FAMILIES,
    scope: 'call',
    doc: 'LLM families: the prompt after the pair',
    api: { field: fields.nullableText(10000) },
    cli: { kind: 'string', section: 'scoring' },
  },
  truncation: {
    field: fields.oneOfText(TRUNCATIONS),
    default: { text: "the model's (reranker.json truncation), else only_second" },
    families: ['encoder'],
    scope: 'call',
    doc: 'only_second (FlagEmbedding: query cut to queryMaxLength, then the passage) or longest_first (sentence-transformers CrossEncoder: the longer text first)',
    api: { field: fields.oneOfText(TRUNCATIONS) },
    cli: { kind: 'string', section: 'scoring' },
  },
  instruction: {
    field: fields.nullableText(),
    default: { text: `the model's (reranker.json instruction), else "${QWEN3_DEFAULT_INSTRUCTION}"` },
    families: ['qwen3'],
    scope: 'call',
    doc: "qwen3: the task instruction in the prompt's {instruction} (null: the default)",
    api: { field: fields.nullableText(10000) },
    cli: { kind: 'string', section: 'scoring' },
  },
  promptTemplate: {
    field: fields.nullableTexts(TEMPLATE_KEYS),
    default: { text: "the model's (reranker.json prompt_template), else Qwen3-Reranker's chat prompt" },
    families: ['qwen3'],
    scope: 'call',
    doc: 'qwen3: {prefix, format, suffix}: the format (with {instruction}, {query}, {document}) is cut at its end to fit maxLength, prefix and suffix never (null: the default)',
    api: { field: refined(fields.nullableTexts(TEMPLATE_KEYS, 10000), templateParses) },
    cli: { kind: 'json', section: 'scoring' },
  },
  cutoffLayers: {
    field: fields.layers({ expect: LAYERS_EXPECT }),
    default: { text: "the model's last layer" },
    families: LAYER_FAMILIES,
    scope: 'call',
    doc: 'layer-wise / light-weight: layers whose scores to return',
    api: { field: fields.layers(API_LAYERS) },
    cli: { kind: 'ints', section: 'scoring' },
  },
  compressLayers: {
    field: fields.layers({ expect: LAYERS_EXPECT }),
    default: { text: "the model's exported layers" },
    families: ['lightweight'],
    scope: 'call',
    doc: 'light-weight: layers where tokens are compressed (selects the graph)',
    api: { field: fields.layers(API_LAYERS) },
    cli: { kind: 'ints', section: 'scoring' },
  },
  compressRatio: {
    field: fields.oneOf(COMPRESS_RATIOS, '1, 2, 4 or 8'),
    default: { value: 1, text: '1' },
    families: ['lightweight'],
    scope: 'call',
    doc: 'light-weight: 1, 2, 4 or 8 (selects the graph)',
    api: { field: fields.oneOf(COMPRESS_RATIOS, `one of ${COMPRESS_RATIOS.join(', ')}`) },
    cli: { kind: 'int', section: 'scoring' },
  },
} as const satisfies Record<string, EngineOptionDecl>;

type Decls = typeof ENGINE_OPTIONS;
export type EngineOptionName = keyof Decls;

/** The value type an option accepts, from its schema. */
type ValueOf<K extends EngineOptionName> = z.input<Decls[K]['field']['schema']>;
type TakenBy<K extends EngineOptionName, F extends Family> = Decls[K] extends { families: readonly (infer X)[] }
  ? F extends X
    ? K
    : never
  : K;
type PerCall<K extends EngineOptionName> = Decls[K] extends { scope: 'call' } ? K : never;

/** Constructor options of family F (every family: F = Family). */
export type OptionsOf<F extends Family = Family> = { [K in EngineOptionName as TakenBy<K, F>]?: ValueOf<K> };
/** Per-call overrides of family F (every family: F = Family). */
export type OverridesOf<F extends Family = Family> = { [K in EngineOptionName as PerCall<TakenBy<K, F>>]?: ValueOf<K> };

export const ENGINE_OPTION_NAMES = Object.keys(ENGINE_OPTIONS) as EngineOptionName[];

export function optionDecl(name: EngineOptionName): EngineOptionDecl {
  return ENGINE_OPTIONS[name];
}

/** Option names family `family` takes, in declaration order; `perCall`: only those overridable per call. */
export function optionNamesOf(family: Family, perCall: boolean): EngineOptionName[] {
  return ENGINE_OPTION_NAMES.filter((k) => {
    const d: EngineOptionDecl = ENGINE_OPTIONS[k];
    return (!d.families || d.families.includes(family)) && (!perCall || d.scope === 'call');
  });
}

/** camelCase → snake_case: the option's name in HTTP bodies. */
export function snakeName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** camelCase → kebab-case: the option's flag on the command line. */
export function cliFlagName(name: EngineOptionName): string {
  const d: EngineOptionDecl = ENGINE_OPTIONS[name];
  return d.cli?.flag ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Options of the HTTP API, in declaration order: snake_case field, engine name, families, bounds, doc. */
export interface ApiEngineOption {
  field: string;
  engine: EngineOptionName;
  families?: readonly Family[];
  check: Field;
  description: string;
  defaultText?: string;
}

export const API_ENGINE_OPTIONS: readonly ApiEngineOption[] = ENGINE_OPTION_NAMES.flatMap((k) => {
  const d: EngineOptionDecl = ENGINE_OPTIONS[k];
  if (!d.api) return [];
  return [
    {
      field: snakeName(k),
      engine: k,
      families: d.families,
      check: d.api.field,
      description: d.doc,
      defaultText: d.api.default ?? d.default?.text,
    },
  ];
});

/**
 * Which exported graph serves a compression setting: the same ratio and (unless ratio 1, which
 * compresses nothing) the same layers in any order; `layers` null takes any. Used by the engine to
 * pick the graph and by the API to refuse, before queueing, a setting no graph was exported with.
 */
export function findCompressionGraph<T extends { ratio: number; layers: readonly number[] }>(
  offers: readonly T[],
  ratio: number,
  layers: readonly number[] | null,
): T | undefined {
  const same = (a: readonly number[]) => layers === null || (a.length === layers.length && a.every((l) => layers.includes(l)));
  return offers.find((o) => o.ratio === ratio && (ratio === 1 || same(o.layers)));
}
