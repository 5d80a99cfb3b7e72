/**
 * The longest sequence a model's position embeddings take, from its config.json.
 * BERT-like and decoder models: `max_position_embeddings` as is. RoBERTa-like models number positions
 * from `padding_idx + 1` (padding_idx = pad_token_id), so that many rows of the table are never
 * reached: XLM-RoBERTa's 514 leave 512 usable. DeBERTa without absolute positions
 * (`position_biased_input: false`, DeBERTa-v3 and mxbai-rerank v1) reads relative positions only and
 * takes any length, as the reference does. Undefined when config.json says nothing.
 */
const ROBERTA_TYPES = new Set(['roberta', 'xlm-roberta', 'camembert', 'xlm-roberta-xl', 'bge-m3']);

export function positionLimit(config: Record<string, unknown>): number | undefined {
  if ((config.model_type === 'deberta-v2' || config.model_type === 'deberta') && config.position_biased_input === false) return undefined;
  const raw = config.max_position_embeddings ?? config.n_positions ?? config.max_sequence_length;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1) return undefined;
  if (isRobertaLike(config)) {
    const pad = typeof config.pad_token_id === 'number' && Number.isInteger(config.pad_token_id) ? config.pad_token_id : 1;
    return Math.max(1, raw - (pad + 1));
  }
  return raw;
}

function isRobertaLike(config: Record<string, unknown>): boolean {
  if (typeof config.model_type === 'string' && ROBERTA_TYPES.has(config.model_type)) return true;
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  return archs.some((a) => typeof a === 'string' && /Roberta|Camembert/.test(a));
}

/** The error text's "the model's limit" part, shared by the engine's checks. */
export function describeLimit(limit: number): string {
  return `the model's ${limit} positions (config.json max_position_embeddings)`;
}
