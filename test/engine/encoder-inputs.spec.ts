import { FlagReranker, positionLimit, RerankerArgumentError } from '@rerank/engine';
import { TestModels } from './support/models';

// Token ids below were checked by hand against the generated vocabularies: bert style
// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3, core word i at 5+i (what=5 is=6 machine=7 learning=8 a=9 of=12
// ai=20 artificial=21 intelligence=22 subset=23 query=41), ":"=96; xlmr style <s>=0 <pad>=1 </s>=2,
// "▁"+core word i at 4+i.
const Q = 'what is machine learning';
const P = 'machine learning is a subset of artificial intelligence';
const Q_IDS = [5, 6, 7, 8];
const P_IDS = [7, 8, 6, 9, 23, 12, 21, 22];

describe('encoder inputs (FlagReranker)', () => {
  const models = new TestModels();
  const open = async (style: 'bert' | 'xlmr', options = {}) => {
    const model = await models.get({ family: 'encoder', encoderStyle: style });
    return models.track(new FlagReranker(model.dir, options));
  };
  afterAll(() => models.cleanup());

  test('BERT pair template: [CLS] q [SEP] p [SEP], token types 0 then 1', async () => {
    const r = await open('bert');
    expect(await r.inspectInputs([Q, P])).toEqual([
      { inputIds: [2, ...Q_IDS, 3, ...P_IDS, 3], tokenTypeIds: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    ]);
  });

  test('XLM-RoBERTa pair template: <s> q </s></s> p </s>, no token type ids (the graph takes none)', async () => {
    const r = await open('xlmr');
    expect(await r.inspectInputs([Q, P])).toEqual([{ inputIds: [0, 4, 5, 6, 7, 2, 2, 6, 7, 5, 8, 22, 11, 20, 21, 2] }]);
  });

  test('only the passage is truncated to maxLength in all (only_second)', async () => {
    const r = await open('bert');
    // 4 query + 8 passage + 3 special = 15 > 10: the passage keeps 3 tokens.
    expect((await r.inspectInputs([Q, P], { maxLength: 10 }))[0].inputIds).toEqual([2, 5, 6, 7, 8, 3, 7, 8, 6, 3]);
  });

  test('the query is truncated to queryMaxLength, by default 3/4 of maxLength', async () => {
    const r = await open('bert');
    expect((await r.inspectInputs([Q, P], { queryMaxLength: 2 }))[0].inputIds).toEqual([2, 5, 6, 3, ...P_IDS, 3]);
    // maxLength 20 → queryMaxLength 15 (20 * 3 // 4): a 20-token query keeps 15, the passage the 2 left.
    const long = 'what is '.repeat(10).trim();
    const first15 = Array.from({ length: 15 }, (_, i) => (i % 2 === 0 ? 5 : 6));
    expect((await r.inspectInputs([long, P], { maxLength: 20 }))[0].inputIds).toEqual([2, ...first15, 3, 7, 8, 3]);
    // maxLength 8 → queryMaxLength 6: the whole query stays and one passage token fits.
    expect((await r.inspectInputs([Q, P], { maxLength: 8 }))[0].inputIds).toEqual([2, ...Q_IDS, 3, 7, 3]);
  });

  test('a constructor queryMaxLength holds when a call changes maxLength', async () => {
    const r = await open('bert', { queryMaxLength: 1 });
    expect((await r.inspectInputs([Q, P], { maxLength: 8 }))[0].inputIds).toEqual([2, 5, 3, 7, 8, 6, 9, 3]);
  });

  test('an empty passage keeps the template', async () => {
    const r = await open('bert');
    expect((await r.inspectInputs([Q, '']))[0].inputIds).toEqual([2, ...Q_IDS, 3, 3]);
  });

  test('a passage far beyond maxLength fills it exactly', async () => {
    const r = await open('bert');
    const [input] = await r.inspectInputs([Q, 'data '.repeat(5000)]);
    expect(input.inputIds).toHaveLength(512);
    expect(input.inputIds.slice(0, 6)).toEqual([2, ...Q_IDS, 3]);
    expect(input.inputIds.slice(6, 511).every((id) => id === 24)).toBe(true); // data = core word 19
    expect(input.inputIds[511]).toBe(3);
  });

  test('instructions are applied with their formats before tokenizing', async () => {
    const r = await open('bert', {
      queryInstructionForRerank: 'query',
      queryInstructionFormat: '{}: {}',
      passageInstructionForRerank: 'a',
    });
    // "query: what is ai" and "a" + passage (format "{}{}" glues them: "amachine ..." is one unknown word).
    const [input] = await r.inspectInputs(['what is ai', 'of ai']);
    expect(input.inputIds.slice(0, 7)).toEqual([2, 41, 96, 5, 6, 20, 3]);
    // "aof" is not a word of the vocabulary: WordPiece splits it; "ai" stays.
    expect(input.inputIds.slice(7, -2)).not.toEqual([12]);
    expect(input.inputIds.slice(-2)).toEqual([20, 3]);
    // Per-call instruction overrides replace the constructor's.
    const [plain] = await r.inspectInputs(['what is ai', 'of ai'], { queryInstructionForRerank: null, passageInstructionForRerank: null });
    expect(plain.inputIds).toEqual([2, 5, 6, 20, 3, 12, 20, 3]);
  });

  test('unicode text tokenizes (accents folded, unknown scripts as [UNK])', async () => {
    const r = await open('bert');
    const [input] = await r.inspectInputs(['Café', '東京 🎉']);
    expect(input.inputIds).toEqual([2, 110, 134, 186, 3, 1, 1, 1, 3]);
  });

  test('maxLength below what the template needs is refused, naming the argument', async () => {
    const r = await open('bert');
    await expect(r.inspectInputs([Q, P], { maxLength: 4 })).rejects.toThrow(RerankerArgumentError);
    await expect(r.inspectInputs([Q, P], { maxLength: 4 })).rejects.toThrow(
      /^maxLength: 4 is below what the pair template needs .* use at least 5/,
    );
  });

  test('a query that leaves no room for the passage: scored untruncated as the reference, with one warning', async () => {
    const warnings: string[] = [];
    const r = await open('bert', { onWarning: (m: string) => warnings.push(m) });
    const long = 'what is machine learning a subset of ai'; // 8 tokens
    const LONG_IDS = [5, 6, 7, 8, 9, 23, 12, 20];
    const pairs: [string, string][] = [
      [Q, P],
      [long, P],
    ];
    const inputs = await r.inspectInputs(pairs, { maxLength: 8, queryMaxLength: 8 });
    // Pair 0 fits as usual; pair 1's query part (11 tokens) fills maxLength 8: nothing is cut (Hugging Face only logs an error).
    expect(inputs.map((x) => x.inputIds)).toEqual([
      [2, ...Q_IDS, 3, 7, 3],
      [2, ...LONG_IDS, 3, ...P_IDS, 3],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^pair 1: the query part takes 11 of the 8 tokens maxLength allows, leaving no room for the passage; the sequence is scored untruncated, as the reference does/,
    );
    // The score is the one of the same 19 tokens built without any truncation (maxLength 19).
    const overflowed = await r.computeScore([long, P], { maxLength: 8, queryMaxLength: 8 });
    const whole = await r.computeScore([long, P], { maxLength: 19, queryMaxLength: 8 });
    expect((await r.inspectInputs([long, P], { maxLength: 19, queryMaxLength: 8 }))[0].inputIds).toEqual(inputs[1].inputIds);
    expect(overflowed).toBe(whole);
    expect(Number.isFinite(overflowed)).toBe(true);
  });

  test('an untruncated sequence beyond the model positions is refused, naming maxLength and the limit', async () => {
    const r = await open('bert', { onWarning: () => undefined });
    const query = 'what '.repeat(600).trim(); // 600 tokens
    await expect(
      r.computeScore(
        [
          [Q, P],
          [query, P],
        ],
        { maxLength: 64, queryMaxLength: 600 },
      ),
    ).rejects.toThrow(
      /^maxLength: pair 1: its query part leaves no room for the passage within maxLength 64, so nothing is truncated \(as the reference\), and the whole sequence of 611 tokens is beyond the model's 512 positions \(config.json max_position_embeddings\); lower queryMaxLength/,
    );
  });

  test('maxLength beyond the model positions is refused before the runtime sees it (bert 512; xlmr 514 - padding offset = 512)', async () => {
    for (const style of ['bert', 'xlmr'] as const) {
      const r = await open(style);
      const call = r.computeScore([Q, 'machine '.repeat(2000)], { maxLength: 4000 });
      await expect(call).rejects.toThrow(RerankerArgumentError);
      await expect(r.computeScore([Q, P], { maxLength: 513 })).rejects.toThrow(
        /^maxLength: 513 makes sequences of up to 513 tokens \(query, passage and special tokens\), beyond the model's 512 positions \(config.json max_position_embeddings\); use maxLength 512 or less$/,
      );
      // The limit itself is fine: a 512-token sequence scores.
      const [input] = await r.inspectInputs([Q, 'machine '.repeat(2000)], { maxLength: 512 });
      expect(input.inputIds).toHaveLength(512);
      expect(Number.isFinite(await r.computeScore([Q, 'machine '.repeat(2000)], { maxLength: 512 }))).toBe(true);
    }
  });

  test('positionLimit reads config.json: BERT as is, RoBERTa-like minus padding_idx + 1, DeBERTa without absolute positions none', () => {
    expect(positionLimit({ model_type: 'bert', max_position_embeddings: 512, pad_token_id: 0 })).toBe(512);
    expect(positionLimit({ model_type: 'xlm-roberta', max_position_embeddings: 514, pad_token_id: 1 })).toBe(512);
    expect(positionLimit({ architectures: ['RobertaForSequenceClassification'], max_position_embeddings: 514, pad_token_id: 1 })).toBe(512);
    expect(positionLimit({ model_type: 'gemma', max_position_embeddings: 8192, pad_token_id: 0 })).toBe(8192);
    expect(positionLimit({ model_type: 'bert' })).toBeUndefined();
    // DeBERTa-v3 / mxbai-rerank v1: relative positions only, any length.
    expect(positionLimit({ model_type: 'deberta-v2', max_position_embeddings: 512, position_biased_input: false })).toBeUndefined();
    expect(positionLimit({ model_type: 'deberta-v2', max_position_embeddings: 512, position_biased_input: true })).toBe(512);
  });
});
