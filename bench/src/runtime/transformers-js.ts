/**
 * transformers.js (`@huggingface/transformers`) on the same model files: its own tokenizer and its
 * own model class, batches of `batchSize` pairs in input order, padded to the longest and truncated
 * to 512 tokens, as a user of that library would call it.
 */
import { basename, dirname } from 'node:path';
import { engineSessionOptions } from './direct';

type Pair = readonly [string, string];

export interface TransformersJsScorer {
  score(pairs: readonly Pair[]): Promise<Float64Array>;
  close(): Promise<void>;
}

export async function openTransformersJs(dir: string, threads: number, batchSize = 32): Promise<TransformersJsScorer> {
  const { env, AutoTokenizer, AutoModelForSequenceClassification } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(dir)}/`;
  const name = basename(dir);
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  // The engine's session options (all graph optimizations, the same fixed intra-op thread count).
  const model = await AutoModelForSequenceClassification.from_pretrained(name, {
    dtype: 'fp32',
    device: 'cpu',
    session_options: engineSessionOptions(threads),
  });
  return {
    async score(pairs) {
      const scores = new Float64Array(pairs.length);
      for (let i = 0; i < pairs.length; i += batchSize) {
        const batch = pairs.slice(i, i + batchSize);
        const inputs = tokenizer(
          batch.map((p) => p[0]),
          { text_pair: batch.map((p) => p[1]), padding: true, truncation: true, max_length: 512 },
        );
        const { logits } = (await model(inputs)) as { logits: { data: Float32Array } };
        scores.set(logits.data.subarray(0, batch.length), i);
      }
      return scores;
    },
    async close() {
      await model.dispose();
    },
  };
}
