import { ModelLoadError, RerankerArgumentError } from '../errors';
import { FAMILY_NAMES, KNOWN_MODEL_NAMES, familyFromArchitectures, familyFromName, parseFamily } from '../model/family';
import { readModelFiles } from '../model/model-files';
import { resolveModelDir } from '../model/resolve';
import type { Family, PairScore, RerankerOptions, ScoreOverrides } from '../types';
import type { BaseReranker } from './base-reranker';
import { FlagLLMReranker } from './flag-llm-reranker';
import { FlagReranker } from './flag-reranker';
import { LayerWiseFlagLLMReranker } from './layerwise-reranker';
import { LightWeightFlagLLMReranker } from './lightweight-reranker';
import { Qwen3Reranker } from './qwen3-reranker';

/**
 * A reranker of any family, as AutoReranker makes it: per-call overrides of every family are accepted
 * by type and checked against the model's family at run time (narrow with instanceof for the typed class).
 */
export type AnyReranker = BaseReranker<ScoreOverrides, PairScore>;

export interface AutoRerankerOptions extends RerankerOptions {
  /** Force the family: ours (`encoder`, `llm`, `layerwise`, `lightweight`, `qwen3`) or the reference's `model_class` names. */
  family?: string;
}

export interface FamilyDecision {
  family: Family;
  /** Where the decision came from, for logs. */
  source: 'option' | 'reranker.json' | 'name' | 'architectures';
  dir: string;
}

/**
 * The family of a model: the `family` option, else reranker.json, else the reference's name
 * mapping, else config.json `architectures`.
 */
export async function detectFamily(nameOrPath: string, options: AutoRerankerOptions = {}): Promise<FamilyDecision> {
  let forced: Family | undefined;
  if (options.family !== undefined) {
    forced = parseFamily(options.family);
    if (!forced)
      throw new RerankerArgumentError('family', `unknown family ${JSON.stringify(options.family)}; use one of ${FAMILY_NAMES.join(', ')}`);
  }
  const dir = await resolveModelDir(nameOrPath, options);
  if (forced) return { family: forced, source: 'option', dir };
  const files = readModelFiles(dir);
  if (files.reranker.family) return { family: files.reranker.family, source: 'reranker.json', dir };
  const byName = familyFromName(nameOrPath);
  if (byName) return { family: byName, source: 'name', dir };
  const architectures = Array.isArray(files.config.architectures) ? (files.config.architectures as string[]) : undefined;
  const byArch = familyFromArchitectures(architectures);
  if (byArch) return { family: byArch, source: 'architectures', dir };
  throw new ModelLoadError(
    `cannot tell the family of ${nameOrPath}: no "family" in reranker.json, the name is not one of ${KNOWN_MODEL_NAMES.join(', ')}, ` +
      `and config.json architectures ${JSON.stringify(architectures ?? [])} name no …ForSequenceClassification or …ForCausalLM; pass family`,
  );
}

/** The reference's FlagAutoReranker: picks the class for a model and builds it. */
export const AutoReranker = {
  async fromFinetuned(nameOrPath: string, options: AutoRerankerOptions = {}): Promise<AnyReranker> {
    const { family: _family, ...rest } = options;
    const { family, dir } = await detectFamily(nameOrPath, options);
    return createReranker(family, dir, rest);
  },
};

/** The class of a family over a model; family-specific options are checked by the class. */
export function createReranker(family: Family, nameOrPath: string, options: RerankerOptions = {}): AnyReranker {
  switch (family) {
    case 'encoder':
      return new FlagReranker(nameOrPath, options);
    case 'llm':
      return new FlagLLMReranker(nameOrPath, options);
    case 'layerwise':
      return new LayerWiseFlagLLMReranker(nameOrPath, options);
    case 'lightweight':
      return new LightWeightFlagLLMReranker(nameOrPath, options);
    case 'qwen3':
      return new Qwen3Reranker(nameOrPath, options);
  }
}
