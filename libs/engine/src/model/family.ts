import type { Family } from '../types';

/**
 * The reference's model-name mapping (the module `FlagEmbedding.inference.reranker.model_mapping`), by the model's base
 * name. bge-reranker-v2-m3 is an XLM-RoBERTa cross-encoder, whatever list the spec puts it in.
 */
const NAME_TO_FAMILY: ReadonlyMap<string, Family> = new Map<string, Family>([
  ['bge-reranker-base', 'encoder'],
  ['bge-reranker-large', 'encoder'],
  ['bge-reranker-v2-m3', 'encoder'],
  ['bge-reranker-v2-gemma', 'llm'],
  ['bge-reranker-v2-minicpm-layerwise', 'layerwise'],
  ['bge-reranker-v2.5-gemma2-lightweight', 'lightweight'],
  ['jina-reranker-v1-turbo-en', 'encoder'],
  ['jina-reranker-v1-tiny-en', 'encoder'],
  ['jina-reranker-v2-base-multilingual', 'encoder'],
  ['gte-multilingual-reranker-base', 'encoder'],
  ['bce-reranker-base_v1', 'encoder'],
  // Beyond FlagEmbedding's mapping: ModernBERT cross-encoders and Qwen3-Reranker.
  ['gte-reranker-modernbert-base', 'encoder'],
  ['qwen3-reranker-0.6b', 'qwen3'],
  ['qwen3-reranker-4b', 'qwen3'],
  ['qwen3-reranker-8b', 'qwen3'],
]);

/** Families by the names the reference's `model_class` argument uses, and by ours. */
const FAMILY_ALIASES: ReadonlyMap<string, Family> = new Map<string, Family>([
  ['encoder', 'encoder'],
  ['encoder-only-base', 'encoder'],
  ['llm', 'llm'],
  ['decoder-only-base', 'llm'],
  ['layerwise', 'layerwise'],
  ['decoder-only-layerwise', 'layerwise'],
  ['lightweight', 'lightweight'],
  ['decoder-only-lightweight', 'lightweight'],
  ['qwen3', 'qwen3'],
  ['qwen3-reranker', 'qwen3'],
]);

export const KNOWN_MODEL_NAMES: readonly string[] = [...NAME_TO_FAMILY.keys()];
export const FAMILY_NAMES: readonly string[] = [...FAMILY_ALIASES.keys()];

export function parseFamily(name: string): Family | undefined {
  return FAMILY_ALIASES.get(name.trim().toLowerCase());
}

/**
 * Base name of a model path or hub id, as the reference reads it: `BAAI/bge-reranker-base` and
 * `/models/bge-reranker-base` both give `bge-reranker-base`; a `checkpoint-N` folder takes its parent's name.
 */
export function modelBaseName(nameOrPath: string): string {
  const parts = nameOrPath.replace(/[\\/]+$/, '').split(/[\\/]/);
  let base = parts[parts.length - 1] ?? '';
  if (base.startsWith('checkpoint-') && parts.length > 1) base = parts[parts.length - 2];
  return base.toLowerCase();
}

export function familyFromName(nameOrPath: string): Family | undefined {
  const base = modelBaseName(nameOrPath);
  // Qwen3-Reranker's sequence-classification conversions keep its prompt: "qwen3-reranker-0.6b-seq-cls".
  return NAME_TO_FAMILY.get(base) ?? (/^qwen3-reranker-/.test(base) ? 'qwen3' : undefined);
}

/** `…ForSequenceClassification` is a cross-encoder, `…ForCausalLM` a decoder reranker. */
export function familyFromArchitectures(architectures: readonly string[] | undefined): Family | undefined {
  for (const arch of architectures ?? []) {
    if (/LayerWise/i.test(arch) && /CausalLM$/.test(arch)) return 'layerwise';
    if (/ForSequenceClassification$/.test(arch)) return 'encoder';
    if (/ForCausalLM$/.test(arch)) return 'llm';
  }
  return undefined;
}
