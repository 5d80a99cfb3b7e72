import { dirname, basename } from 'node:path';
import { FlagReranker } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { TestModels } from './support/models';

/**
 * An independent implementation on the same model files: transformers.js tokenizes the pairs with
 * its own pipeline and runs its own model class. Encoder scores must agree to 1e-4.
 */
describe('encoder scores agree with transformers.js', () => {
  const models = new TestModels();
  afterAll(() => models.cleanup());

  test.each(['bert', 'xlmr'] as const)('%s style, 200 pairs', async (encoderStyle) => {
    const model = await models.get({ family: 'encoder', encoderStyle, preset: 'tiny' });
    const pairs = makeCorpus(11).pairs(200);
    // Left out here, checked by hand in encoder-inputs.spec.ts: an empty passage (transformers.js drops a
    // falsy text_pair and frames the query alone, where the reference keeps `[CLS] q [SEP] [SEP]`) and
    // truncation (transformers.js cuts the framed sequence, losing the final [SEP]; the reference
    // truncates the passage only).
    pairs.push(['Café au lait?', 'Unicode: naïve façade, 東京, emoji 🎉.'], ['what is ai', 'data '.repeat(400)]);

    const reranker = new FlagReranker(model.dir);
    const ours = await reranker.computeScore(pairs);
    await reranker.close();

    const { env, AutoTokenizer, AutoModelForSequenceClassification } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${dirname(model.dir)}/`;
    const name = basename(model.dir);
    const tokenizer = await AutoTokenizer.from_pretrained(name);
    const tjs = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: 'fp32' });
    const theirs: number[] = [];
    for (let i = 0; i < pairs.length; i += 32) {
      const batch = pairs.slice(i, i + 32);
      const inputs = tokenizer(
        batch.map((p) => p[0]),
        { text_pair: batch.map((p) => p[1]), padding: true, truncation: true, max_length: 512 },
      );
      const { logits } = await tjs(inputs);
      theirs.push(...Array.from(logits.data as Float32Array));
    }
    await tjs.dispose();

    expect(theirs).toHaveLength(ours.length);
    const worst = Math.max(...ours.map((s, i) => Math.abs(s - theirs[i])));
    expect(worst).toBeLessThan(1e-4);
  });
});
