/**
 * What request validation needs to know of a model beyond its name, read from its directory
 * (reranker.json, config.json). Workers publish it in their heartbeats, so API nodes without the
 * model files know it too.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DecoderPartLengths,
  type Family,
  familyFromArchitectures,
  readModelFiles,
  readSequenceFacts,
  type Truncation,
} from '@rerank/engine';

export interface CompressionOffer {
  ratio: number;
  layers: number[];
}

export interface ModelFacts {
  family?: Family;
  /** Layers whose scores the graph returns (layer-wise / light-weight). */
  layers?: number[];
  /** Light-weight: the compression settings its graphs were exported with. */
  compression?: CompressionOffer[];
  /** Made by @rerank/model-gen (config.json `generated_by`): random weights. */
  generated: boolean;
  /** Longest sequence the model's positions take (config.json), when known. */
  maxPositions?: number;
  /** LLM families: token counts of bos, separator and default prompt (for the length check at submission). */
  decoderParts?: DecoderPartLengths;
  /** The max_length a request gets when it names none (reranker.json's, else the family's). */
  maxLength?: number;
  /** Encoders: how a pair is cut to max_length. */
  truncation?: Truncation;
  /** qwen3: tokens of the default prompt's prefix and suffix (max_length must exceed them). */
  chatFrame?: number;
}

/** `family`: the configured one, when RERANK_MODELS names it (else reranker.json or config.json's architectures). */
export function readModelFacts(dir: string, family?: Family): ModelFacts {
  try {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return { generated: false };
    const files = readModelFiles(dir);
    const r = files.reranker;
    const cfgPath = join(dir, 'config.json');
    const generated = existsSync(cfgPath) && Boolean((JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>).generated_by);
    const facts: ModelFacts = { generated };
    if (r.family) facts.family = r.family;
    if (r.layers?.length) facts.layers = [...r.layers];
    if (r.family === 'lightweight') {
      facts.compression = [
        { ratio: r.compressRatio ?? 1, layers: r.compressLayers ?? [] },
        ...(r.variants ?? []).map((v) => ({ ratio: v.compressRatio, layers: v.compressLayers })),
      ];
    }
    const architectures = Array.isArray(files.config.architectures) ? (files.config.architectures as string[]) : undefined;
    const knownFamily = family ?? r.family ?? familyFromArchitectures(architectures);
    if (knownFamily) {
      try {
        const seq = readSequenceFacts(files, knownFamily);
        if (seq.maxPositions !== undefined) facts.maxPositions = seq.maxPositions;
        if (seq.decoderParts) facts.decoderParts = seq.decoderParts;
        facts.maxLength = seq.maxLength;
        if (seq.truncation) facts.truncation = seq.truncation;
        if (seq.chatFrame !== undefined) facts.chatFrame = seq.chatFrame;
      } catch {
        // A tokenizer that does not load here fails loudly in the worker; the length check is then left to it.
      }
    }
    return facts;
  } catch {
    return { generated: false };
  }
}
