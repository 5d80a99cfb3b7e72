import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { AutoTokenizer, env } from '@huggingface/transformers';
import {
  CORE_WORDS,
  coreWordId,
  makeCorpus,
  makeTokenizer,
  pseudoWords,
  randomPassage,
  randomQuery,
  Rng,
  textWords,
  TokenizerStyle,
} from '@rerank/model-gen';
import { tempDir } from './helpers';

const STYLES: TokenizerStyle[] = ['bert', 'xlmr', 'bpe'];
const UNICODE = 'Café naïve résumé — 東京タワー 😀🚀 Ελληνικά ß ﬁ \u0000 \t\n end';

function load(style: TokenizerStyle, vocabSize: number) {
  const files = makeTokenizer({ style, vocabSize, maxLength: 512 });
  return { files, tok: new Tokenizer(files.tokenizer, files.tokenizerConfig) };
}
const ids = (tok: Tokenizer, text: string) => tok.encode(text, { add_special_tokens: false }).ids;

describe.each(STYLES)('%s tokenizer', (style) => {
  const { files, tok } = load(style, 1000);

  it('has exactly vocabSize tokens, ids 0..vocabSize-1', () => {
    expect(files.vocabSize).toBe(1000);
    const vocab = tok.get_vocab(true);
    expect(vocab.size).toBe(1000);
    expect(Math.max(...vocab.values())).toBe(999);
  });

  it('puts every core word at its documented id', () => {
    for (const w of CORE_WORDS) {
      if (style === 'bert') {
        if (w !== w.toLowerCase()) continue; // uncased: capitalised entries are unreachable
        expect(ids(tok, w)).toEqual([coreWordId(style, w)]);
      } else if (style === 'xlmr') {
        expect(ids(tok, w)).toEqual([coreWordId(style, w)]);
      } else {
        expect(ids(tok, w)).toEqual([coreWordId(style, w, false)]);
        expect(ids(tok, ` ${w}`)).toEqual([coreWordId(style, w, true)]);
      }
    }
    const firstCore = { bert: 5, xlmr: 4, bpe: 4 }[style];
    expect(coreWordId(style, 'what')).toBe(firstCore);
  });

  it('tokenizes unknown words, digits, punctuation and unicode without throwing', () => {
    for (const text of ['zxqvbnm unheardofword', '3.14, (42)! x/y - a: b; "q"?', UNICODE, '', '   ']) {
      const out = ids(tok, text);
      for (const id of out) expect(id).toBeGreaterThanOrEqual(0);
      for (const id of out) expect(id).toBeLessThan(1000);
    }
    expect(ids(tok, 'zxqvbnm').length).toBeGreaterThan(0);
  });

  it('builds the same files for the same size, and larger vocabularies too', () => {
    expect(JSON.stringify(makeTokenizer({ style, vocabSize: 1000, maxLength: 512 }).tokenizer)).toBe(JSON.stringify(files.tokenizer));
    const big = load(style, 30522);
    expect(big.tok.get_vocab(true).size).toBe(30522);
    // More pseudo-words become single tokens in the larger vocabulary.
    const words = pseudoWords(3000).slice(2500); // beyond what 1000 tokens hold
    const single = (t: Tokenizer, w: string) => ids(t, style === 'bpe' ? ` ${w}` : w).length === 1;
    expect(words.filter((w) => single(big.tok, w)).length).toBeGreaterThan(words.filter((w) => single(tok, w)).length);
  });
});

describe('special tokens and templates', () => {
  it('bert: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, pair template with token types', () => {
    const { files, tok } = load('bert', 1000);
    expect(files.special).toEqual({ pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    const e = tok.encode('What is AI?', { text_pair: 'AI is a subset.', return_token_type_ids: true });
    const w = (x: string) => coreWordId('bert', x);
    expect(e.ids).toEqual([
      2,
      w('what'),
      w('is'),
      w('ai'),
      files.vocab.get('?'),
      3,
      w('ai'),
      w('is'),
      w('a'),
      w('subset'),
      files.vocab.get('.'),
      3,
    ]);
    expect(e.token_type_ids).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(tok.encode('hello').ids[0]).toBe(2);
    expect(ids(tok, 'Café')).toEqual(ids(tok, 'cafe')); // lowercased, accents stripped
  });

  it('xlmr: <s>=0 <pad>=1 </s>=2 <unk>=3, pair template <s> A </s></s> B </s>', () => {
    const { files, tok } = load('xlmr', 1000);
    expect(files.special).toMatchObject({ bos: 0, pad: 1, eos: 2, unk: 3 });
    const w = (x: string) => coreWordId('xlmr', x);
    expect(tok.encode('what is', { text_pair: 'the data' }).ids).toEqual([0, w('what'), w('is'), 2, 2, w('the'), w('data'), 2]);
    expect(ids(tok, '東')).toContain(3);
  });

  it('bpe: <pad>=0 <eos>=1 <bos>=2 <unk>=3; "Yes" and "\\n" are one token each; <bos> added to singles', () => {
    const { files, tok } = load('bpe', 1000);
    expect(files.special).toEqual({ pad: 0, eos: 1, bos: 2, unk: 3 });
    expect(ids(tok, 'Yes')).toEqual([coreWordId('bpe', 'Yes', false)]);
    expect(ids(tok, '\n')).toHaveLength(1);
    expect(ids(tok, '\n')[0]).toBe(files.vocab.get('\u010a'));
    expect(tok.encode('what').ids).toEqual([2, coreWordId('bpe', 'what', false)]);
    expect(tok.decode(ids(tok, UNICODE))).toBe(UNICODE); // byte-level round trip
  });

  it('bpe tokenizer_config names the special tokens and the padding side', () => {
    const left = makeTokenizer({ style: 'bpe', vocabSize: 1000, maxLength: 512, paddingSide: 'left' }).tokenizerConfig;
    const right = makeTokenizer({ style: 'bpe', vocabSize: 1000, maxLength: 512, paddingSide: 'right' }).tokenizerConfig;
    expect(left).toMatchObject({ bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', padding_side: 'left', model_max_length: 512 });
    expect(right.padding_side).toBe('right');
  });

  it('rejects a vocabulary too small for the fixed tokens', () => {
    expect(() => makeTokenizer({ style: 'bpe', vocabSize: 300, maxLength: 512 })).toThrow(/too small/);
  });
});

describe('transformers.js AutoTokenizer', () => {
  const root = tempDir('mg-tok');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(STYLES)('loads the %s files and agrees with @huggingface/tokenizers', async (style) => {
    const files = makeTokenizer({ style, vocabSize: 1000, maxLength: 512 });
    const dir = join(root, style);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
    env.localModelPath = root;
    env.allowRemoteModels = false;
    const t = await AutoTokenizer.from_pretrained(style);
    expect(t.constructor.name).toBe({ bert: 'BertTokenizer', xlmr: 'XLMRobertaTokenizer', bpe: 'GemmaTokenizer' }[style]);
    expect(t.pad_token_id).toBe(files.special.pad);
    const ref = new Tokenizer(files.tokenizer, files.tokenizerConfig);
    for (const [q, p] of makeCorpus(3).pairs(5)) {
      const got = t(q, { text_pair: p, return_tensor: false }) as unknown as { input_ids: number[] };
      expect(got.input_ids).toEqual(ref.encode(q, { text_pair: p }).ids);
    }
  });
});

describe('text generator', () => {
  it('is deterministic per seed and uses vocabulary words', () => {
    expect(makeCorpus(5).pairs(3)).toEqual(makeCorpus(5).pairs(3));
    expect(makeCorpus(5).pairs(3)).not.toEqual(makeCorpus(6).pairs(3));
    const words = new Set(textWords());
    for (const w of makeCorpus(1)
      .passage()
      .toLowerCase()
      .split(/[\s.,?]+/)
      .filter(Boolean))
      expect(words.has(w)).toBe(true);
  });

  it('realistic lengths: queries 3–20 words, passages 20–400 words, long-tailed', () => {
    const rng = new Rng(11);
    const words = textWords();
    const count = (s: string) => s.split(/\s+/).length;
    const q = Array.from({ length: 300 }, () => count(randomQuery(rng, words, { lengths: 'realistic' })));
    const p = Array.from({ length: 300 }, () => count(randomPassage(rng, words, { lengths: 'realistic' })));
    expect(Math.min(...q)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...q)).toBeLessThanOrEqual(20);
    expect(Math.min(...p)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...p)).toBeLessThanOrEqual(400);
    const sorted = [...p].sort((a, b) => a - b);
    expect(sorted[150]).toBeLessThan(120); // median well below the mean of the range
    expect(sorted[297]).toBeGreaterThan(200); // but a long tail
  });
});
