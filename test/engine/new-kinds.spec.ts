/**
 * The kinds beyond FlagEmbedding's four, on generated models (no Python): ModernBERT-shaped cross-encoders
 * (no token types, longest_first truncation and max_length 8,192 from reranker.json, FlagEmbedding's rule
 * when overridden) and Qwen3-shaped rerankers (the chat prompt cut in its middle, the instruction and
 * template per call, l_yes − l_no read from any of the three graph outputs, the probability by default).
 * Reference fidelity of real exports is test/reference's.
 */
import {
  AutoReranker,
  FlagReranker,
  QWEN3_DEFAULT_INSTRUCTION,
  QWEN3_PROMPT_TEMPLATE,
  Qwen3Reranker,
  RerankerArgumentError,
  type Pair,
} from '@rerank/engine';
import { TestModels } from './support/models';

jest.setTimeout(120_000);

const models = new TestModels();
afterAll(() => models.cleanup());

const words = (n: number, word: string) => Array.from({ length: n }, () => word).join(' ');

describe('ModernBERT-shaped cross-encoder', () => {
  const modernbert = () => models.get({ family: 'encoder', encoderStyle: 'modernbert' });

  test('reads 8,192 tokens by default, feeds no token types, and cuts the longer text first (longest_first)', async () => {
    const r = models.track(new FlagReranker((await modernbert()).dir));
    expect(await r.maxLengthFor()).toBe(8192);
    const [cls, sep] = await Promise.all(
      ['[CLS]', '[SEP]'].map(async (t) => (await r.inspectInputs(['', ''], { maxLength: 16 }))[0].inputIds[t === '[CLS]' ? 0 : 1]),
    );
    const q = await r.tokenIds(words(20, 'machine'));
    const p = await r.tokenIds(words(30, 'learning'));
    expect([q.length, p.length]).toEqual([20, 30]);
    // maxLength 16: 13 tokens for the texts. Both are longer than half: the query (shorter) keeps 6, the passage 7.
    const both = await r.inspectInputs([words(20, 'machine'), words(30, 'learning')], { maxLength: 16 });
    expect(both[0]).toEqual({ inputIds: [cls, ...q.slice(0, 6), sep, ...p.slice(0, 7), sep] });
    // A short query keeps all of itself; the passage gives way.
    const short = await r.inspectInputs([words(3, 'machine'), words(30, 'learning')], { maxLength: 16 });
    expect(short[0].inputIds).toEqual([cls, ...q.slice(0, 3), sep, ...p.slice(0, 10), sep]);
    // A long query with a short passage: the query gives way (FlagEmbedding's rule would cut the passage).
    const longQuery = await r.inspectInputs([words(20, 'machine'), words(3, 'learning')], { maxLength: 16 });
    expect(longQuery[0].inputIds).toEqual([cls, ...q.slice(0, 10), sep, ...p.slice(0, 3), sep]);
    // Overridden per call: FlagEmbedding's rule, the query cut to 3/4 of maxLength, then only the passage.
    const flag = await r.inspectInputs([words(20, 'machine'), words(30, 'learning')], { maxLength: 16, truncation: 'only_second' });
    expect(flag[0].inputIds).toEqual([cls, ...q.slice(0, 12), sep, ...p.slice(0, 1), sep]);
    // An explicit queryMaxLength still caps the query under longest_first.
    const capped = await r.inspectInputs([words(20, 'machine'), words(30, 'learning')], { maxLength: 16, queryMaxLength: 4 });
    expect(capped[0].inputIds).toEqual([cls, ...q.slice(0, 4), sep, ...p.slice(0, 9), sep]);
  });

  test('scores per pair whatever the batch (right padding, local attention windows), at 8,192 tokens too', async () => {
    const r = models.track(new FlagReranker((await modernbert()).dir));
    const pairs: Pair[] = [
      ['what is machine learning', 'machine learning is a subset of artificial intelligence'],
      ['what is ai', words(200, 'data')],
      [words(5000, 'query'), words(6000, 'passage')],
      ['python', 'programming'],
    ];
    const together = await r.computeScore(pairs);
    for (let i = 0; i < pairs.length; i++) expect(Math.abs((await r.computeScore(pairs[i])) - together[i])).toBeLessThan(1e-5);
    const inputs = await r.inspectInputs(pairs);
    expect(inputs.map((p) => p.inputIds.length)).toEqual([inputs[0].inputIds.length, 3 + 200 + 3, 8192, 2 + 3]);
    expect(inputs[0].tokenTypeIds).toBeUndefined();
  });
});

describe('Qwen3-shaped reranker', () => {
  const qwen3 = (qwen3Output?: 'logits' | 'scores' | 'classifier') =>
    models.get({ family: 'qwen3', ...(qwen3Output ? { qwen3Output } : {}) });
  const pairs: Pair[] = [
    ['what is machine learning', 'machine learning is a subset of artificial intelligence'],
    ['what is ai', 'cooking recipes for italian pasta dishes'],
    ['weather forecast', words(3000, 'data')],
  ];

  test('the chat prompt: prefix, the filled format cut at its end, suffix; 8,192 tokens by default', async () => {
    const r = models.track(new Qwen3Reranker((await qwen3()).dir));
    expect(await r.maxLengthFor()).toBe(8192);
    const prefix = await r.tokenIds(QWEN3_PROMPT_TEMPLATE.prefix);
    const suffix = await r.tokenIds(QWEN3_PROMPT_TEMPLATE.suffix);
    const middle = (q: string, d: string, instruction = QWEN3_DEFAULT_INSTRUCTION) =>
      r.tokenIds(`<Instruct>: ${instruction}\n<Query>: ${q}\n<Document>: ${d}`);
    // The special tokens are single ids.
    expect(prefix[0]).toBe(1); // <|im_start|>
    const [whole] = await r.inspectInputs(pairs[0]);
    expect(whole.inputIds).toEqual([...prefix, ...(await middle(...pairs[0])), ...suffix]);
    const maxLength = prefix.length + suffix.length + 10;
    const [cut] = await r.inspectInputs(pairs[2], { maxLength });
    expect(cut.inputIds).toEqual([...prefix, ...(await middle(...pairs[2])).slice(0, 10), ...suffix]);
    const [instructed] = await r.inspectInputs(pairs[0], { instruction: 'Find the recipe' });
    expect(instructed.inputIds).toEqual([...prefix, ...(await middle(...pairs[0], 'Find the recipe')), ...suffix]);
    const template = { prefix: '<|im_start|>user\n', format: 'Q: {query} {{D}}: {document}', suffix: '<|im_end|>' };
    const [custom] = await r.inspectInputs(pairs[0], { promptTemplate: template });
    expect(custom.inputIds).toEqual([
      ...(await r.tokenIds(template.prefix)),
      ...(await r.tokenIds(`Q: ${pairs[0][0]} {D}: ${pairs[0][1]}`)),
      ...(await r.tokenIds(template.suffix)),
    ]);
  });

  test('l_yes − l_no from the LM logits, the pooled scores and a seq-cls classifier alike; the probability by default', async () => {
    const raw: number[][] = [];
    for (const output of ['logits', 'scores', 'classifier'] as const) {
      const r = models.track(new Qwen3Reranker((await qwen3(output)).dir));
      raw.push(await r.computeScore(pairs, { normalize: false }));
      const probability = await r.computeScore(pairs);
      probability.forEach((p, i) => expect(Math.abs(p - 1 / (1 + Math.exp(-raw[raw.length - 1][i])))).toBeLessThan(1e-12));
    }
    for (const other of raw.slice(1)) other.forEach((s, i) => expect(Math.abs(s - raw[0][i])).toBeLessThan(1e-4));
    expect(new Set(raw[0].map((s) => s.toFixed(5))).size).toBe(pairs.length);
  });

  test('per pair whatever the batch (left padding with position ids); AutoReranker finds the family', async () => {
    const dir = (await qwen3()).dir;
    const r = models.track(await AutoReranker.fromFinetuned(dir));
    expect(r).toBeInstanceOf(Qwen3Reranker);
    const together = (await r.computeScore(pairs)) as number[];
    for (let i = 0; i < pairs.length; i++) expect(Math.abs(((await r.computeScore(pairs[i])) as number) - together[i])).toBeLessThan(1e-6);
    const small = (await r.computeScore(pairs, { maxBatchTokens: 64, batchSize: 1 })) as number[];
    small.forEach((s, i) => expect(Math.abs(s - together[i])).toBeLessThan(1e-6));
  });

  test("options of other kinds are refused naming them; a maxLength the prompt's frame fills is refused", async () => {
    const dir = (await qwen3()).dir;
    expect(() => new Qwen3Reranker(dir, { queryInstructionForRerank: 'A: ' } as never)).toThrow(
      new RerankerArgumentError(
        'queryInstructionForRerank',
        'not an option of the qwen3 family (it applies to the encoder / llm / layerwise / lightweight families only)',
      ),
    );
    const encoder = (await models.get({ family: 'encoder' })).dir;
    expect(() => new FlagReranker(encoder, { instruction: 'x' } as never)).toThrow(
      /instruction: not an option of the encoder family \(it applies to the qwen3 families only\)/,
    );
    const r = models.track(new Qwen3Reranker(dir));
    await expect(r.computeScore(pairs, { truncation: 'longest_first' } as never)).rejects.toThrow(
      /truncation: not an option of the qwen3 family/,
    );
    await expect(r.computeScore(pairs, { maxLength: 20 })).rejects.toThrow(
      /maxLength: 20 leaves no room for the query and document: the prompt's prefix and suffix take \d+ tokens/,
    );
    await expect(r.computeScore(pairs, { promptTemplate: { prefix: '', format: '{query}', suffix: '' } })).rejects.toThrow(
      /promptTemplate: the format must hold \{document\} once, found it 0 times/,
    );
  });
});
