/**
 * The pieces of the engine's tokenizer (libs/engine/src/tokenization), each against what the
 * reference (Hugging Face `tokenizers` 0.19, Rust) does, from its sources and documented examples.
 * test/tokenization/differential.spec.ts compares whole tokenizers with the reference itself.
 */
import { AddedVocabulary } from '../../libs/engine/src/tokenization/added-vocabulary';
import { makeModel, scoreAsRead } from '../../libs/engine/src/tokenization/models';
import { makeNormalizer } from '../../libs/engine/src/tokenization/normalizers';
import { OnigPattern } from '../../libs/engine/src/tokenization/onig-pattern';
import { PairTemplate } from '../../libs/engine/src/tokenization/pair-template';
import { PrecompiledCharsmap } from '../../libs/engine/src/tokenization/precompiled-charsmap';
import { makePreTokenizer } from '../../libs/engine/src/tokenization/pre-tokenizers';
import { CodePointSet } from '../../libs/engine/src/tokenization/unicode/code-point-set';
import { forEachGrapheme } from '../../libs/engine/src/tokenization/unicode/graphemes';
import { normalize } from '../../libs/engine/src/tokenization/unicode/normalization';

const graphemes = (text: string) => {
  const out: string[] = [];
  forEachGrapheme(text, (s, e) => out.push(text.slice(s, e)));
  return out;
};
const pieces = (pattern: OnigPattern, text: string) => {
  const out: [string, boolean][] = [];
  pattern.forEachPiece(text, (s, e, m) => out.push([text.slice(s, e), m]));
  return out;
};
const preTokenize = (json: Record<string, unknown>, text: string, first = true) =>
  (makePreTokenizer(json) as NonNullable<ReturnType<typeof makePreTokenizer>>)([{ text, first }]).map((s) => s.text);
const normalizer = (json: Record<string, unknown>) => makeNormalizer(json) as (t: string) => string;

describe('Unicode data at the reference versions', () => {
  test('CodePointSet: decode, membership above and below U+10000, union, complement', () => {
    const set = CodePointSet.decode('1u,2,1,0'); // [66, 68], [70, 70]: base-36 gap 66, length 3; gap 1, length 1
    expect([65, 66, 68, 69, 70, 71].map((cp) => set.has(cp))).toEqual([false, true, true, false, true, false]);
    const astral = new CodePointSet(Uint32Array.from([0x1f600, 0x1f64f]));
    expect([astral.has(0x1f600), astral.has(0x1f64f), astral.has(0x1f650)]).toEqual([true, true, false]);
    const both = CodePointSet.union(set, astral);
    expect(Array.from(both.ranges)).toEqual([66, 68, 70, 70, 0x1f600, 0x1f64f]);
    expect(Array.from(set.complement().ranges)).toEqual([0, 65, 69, 69, 71, 0x10ffff]);
  });

  test('grapheme clusters as unicode-segmentation 1.11 finds them (no Indic conjunct rule GB9c)', () => {
    expect(graphemes('\r\n\n\r')).toEqual(['\r\n', '\n', '\r']);
    expect(graphemes('e\u0301x')).toEqual(['e\u0301', 'x']);
    expect(graphemes('👨‍👩‍👧‍👦👍🏽')).toEqual(['👨‍👩‍👧‍👦', '👍🏽']);
    expect(graphemes('🇫🇷🇯🇵🇺')).toEqual(['🇫🇷', '🇯🇵', '🇺']);
    expect(graphemes('\u1100\u1161\u11a8\uac00\u11a8')).toEqual(['\u1100\u1161\u11a8', '\uac00\u11a8']);
    expect(graphemes('a\u200db')).toEqual(['a\u200d', 'b']);
    expect(graphemes('\u0600\u0661')).toEqual(['\u0600\u0661']);
    expect(graphemes('\u0915\u093e')).toEqual(['\u0915\u093e']);
    // क्ष: two clusters here and in the reference; one for Intl.Segmenter under Unicode 15.1+ rules.
    expect(graphemes('\u0915\u094d\u0937')).toEqual(['\u0915\u094d', '\u0937']);
  });

  test('normalization forms of Unicode 9.0: later characters neither decompose nor reorder', () => {
    expect(normalize('e\u0301', 'NFC')).toBe('\u00e9');
    expect(normalize('ﬁ①', 'NFKC')).toBe('fi1');
    // U+105C9 (Unicode 16) decomposes in Node's data, not in the reference's.
    expect('\u{105c9}'.normalize('NFD')).not.toBe('\u{105c9}');
    expect(normalize('\u{105c9}', 'NFD')).toBe('\u{105c9}');
    // U+1AC1 (Unicode 14, class 230) would move after U+0316 (class 220); under 9.0 it is a starter.
    expect('a\u1ac1\u0316'.normalize('NFC')).toBe('a\u0316\u1ac1');
    expect(normalize('a\u1ac1\u0316', 'NFC')).toBe('a\u1ac1\u0316');
    expect(normalize('ä\u1ac1ö', 'NFD')).toBe('a\u0308\u1ac1o\u0308');
  });
});

/** A Darts double array over UTF-8 bytes with one 256-unit block per node, and its rewrites. */
function charsmap(rules: Record<string, string>): string {
  const units: number[] = [];
  let rewrites = Buffer.alloc(0);
  let blocks = 1;
  const block = () => 256 * blocks++;
  const root = block();
  units[0] = root << 10;
  const children = new Map<number, Map<number, number>>(); // node position → byte → child position
  const base = new Map<number, number>([[0, root]]);
  for (const [key, value] of Object.entries(rules)) {
    let pos = 0;
    for (const byte of Buffer.from(key)) {
      const kids = children.get(pos) ?? new Map<number, number>();
      children.set(pos, kids);
      let child = kids.get(byte);
      if (child === undefined) {
        child = (base.get(pos) as number) + byte;
        kids.set(byte, child);
        const b = block();
        base.set(child, b);
        units[child] = ((child ^ b) << 10) | byte;
      }
      pos = child;
    }
    units[pos] |= 1 << 8; // has a leaf: its value at base ^ 0
    units[base.get(pos) as number] = (0x80000000 | rewrites.length) >>> 0;
    rewrites = Buffer.concat([rewrites, Buffer.from(value), Buffer.from([0])]);
  }
  const trie = Buffer.alloc(4 * 256 * blocks);
  units.forEach((u, i) => u !== undefined && trie.writeUInt32LE(u >>> 0, 4 * i));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(trie.length);
  return Buffer.concat([size, trie, rewrites]).toString('base64');
}

describe('Precompiled', () => {
  const map = new PrecompiledCharsmap(charsmap({ '\u00ad': '', ﬁ: 'fi', 'e\u0301': '\u00e9', '\r': ' ', '\u200d': '' }));

  test('rewrites code points and deletes the ones mapped to nothing', () => {
    expect(map.normalize('soft\u00adhyphen ﬁne')).toBe('softhyphen fine');
    expect(map.normalize('plain text')).toBe('plain text');
  });

  test('a cluster under 6 bytes is looked up whole: the rewrite of its shortest prefix replaces all of it', () => {
    expect(map.normalize('caf' + 'e\u0301')).toBe('café');
    // "\r\n" is one cluster; its prefix "\r" is in the trie, so the whole cluster becomes " ".
    expect(map.normalize('a\r\nb')).toBe('a b');
    // 👩‍💻 is 11 bytes: looked up code point by code point, the joiner deleted.
    expect(map.normalize('👩\u200d💻')).toBe('👩💻');
  });

  test('a blob whose trie does not fit is refused', () => {
    expect(() => new PrecompiledCharsmap(Buffer.from([9, 0, 0, 0]).toString('base64'))).toThrow(/trie of 9 bytes/);
  });
});

describe('patterns as Oniguruma matches them', () => {
  test('an empty match right after a match is skipped', () => {
    expect(pieces(new OnigPattern({ Regex: 'a*' }), 'ab')).toEqual([
      ['a', true],
      ['b', false],
      ['', true],
    ]);
  });

  test("Unicode properties are Oniguruma's (Unicode 14.0), not Node's", () => {
    // U+1E4D0 NAG MUNDARI LETTER O is a letter since Unicode 15.0.
    expect(/\p{L}/u.test('\u{1e4d0}')).toBe(true);
    expect(pieces(new OnigPattern({ Regex: '\\p{L}+' }), 'a\u{1e4d0}b')).toEqual([
      ['a', true],
      ['\u{1e4d0}', false],
      ['b', true],
    ]);
    expect(pieces(new OnigPattern({ Regex: '\\s+' }), 'a\u0085\u3000b\ufeff')).toEqual([
      ['a', false],
      ['\u0085\u3000', true],
      ['b\ufeff', false],
    ]);
  });

  test('case-insensitive groups fold ſ with s, as Oniguruma does', () => {
    expect(pieces(new OnigPattern({ Regex: "(?i:'s|'t)" }), "'ſ'T")).toEqual([
      ["'ſ", true],
      ["'T", true],
    ]);
  });

  test('a String pattern is literal; Replace replaces every match', () => {
    expect(normalizer({ type: 'Replace', pattern: { String: '.*' }, content: '$&' })('a.*b.*')).toBe('a$&b$&');
    expect(normalizer({ type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' })('a  b   c d')).toBe('a▁b▁c d');
  });
});

describe('normalizers', () => {
  test('BertNormalizer: cleans, spaces Chinese characters (extension B too), strips accents before lowercasing', () => {
    const bert = normalizer({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true });
    expect(bert('Héllo\u0000\ufffd\u200b\tWÖRLD\u0085x')).toBe('hello worldx');
    expect(bert('中\u{20000}')).toBe(' 中  \u{20000} ');
    // İ: its accent is stripped first, so "i" and no dot.
    expect(bert('İ')).toBe('i');
    const cased = normalizer({
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: false,
      strip_accents: null,
      lowercase: false,
    });
    expect(cased('Héllo\u3000x')).toBe('Héllo x');
  });

  test('Lowercase maps each character alone (no final sigma)', () => {
    const lower = normalizer({ type: 'Lowercase' });
    expect('ΣΑΣ'.toLowerCase()).toBe('σας');
    expect(lower('ΣΑΣ')).toBe('σασ');
    expect(lower('ÀİABC')).toBe('\u00e0i\u0307abc');
  });

  test("Strip takes Rust's whitespace: U+0085 yes, U+FEFF no; Prepend leaves empty text empty", () => {
    expect(normalizer({ type: 'Strip', strip_left: true, strip_right: true })('\u0085 a \ufeff')).toBe('a \ufeff');
    expect(normalizer({ type: 'Strip', strip_left: false, strip_right: true })('  a  ')).toBe('  a');
    const prepend = normalizer({ type: 'Prepend', prepend: '▁' });
    expect([prepend('a'), prepend('')]).toEqual(['▁a', '']);
  });

  test('StripAccents, Nmt, Sequence', () => {
    const seq = normalizer({ type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'StripAccents' }, { type: 'Nmt' }] });
    expect(seq('Ça\u0007va\u200b?')).toBe('Cava ?');
  });
});

describe('pre-tokenizers', () => {
  const split = (behavior: string) =>
    preTokenize({ type: 'Split', pattern: { String: '-' }, behavior, invert: false }, 'the-final--countdown');

  test("Split's five behaviors, on the reference's own example", () => {
    expect(split('Removed')).toEqual(['the', 'final', 'countdown']);
    expect(split('Isolated')).toEqual(['the', '-', 'final', '-', '-', 'countdown']);
    expect(split('MergedWithPrevious')).toEqual(['the-', 'final-', '-', 'countdown']);
    expect(split('MergedWithNext')).toEqual(['the', '-final', '-', '-countdown']);
    expect(split('Contiguous')).toEqual(['the', '-', 'final', '--', 'countdown']);
    expect(preTokenize({ type: 'Split', pattern: { Regex: '\\w+' }, behavior: 'Removed', invert: true }, 'hey, you')).toEqual([
      'hey',
      'you',
    ]);
  });

  test("BertPreTokenizer on the reference's example; punctuation of Unicode 9.0", () => {
    expect(preTokenize({ type: 'BertPreTokenizer' }, 'Hey friend!     How are you?!?')).toEqual([
      'Hey',
      'friend',
      '!',
      'How',
      'are',
      'you',
      '?',
      '!',
      '?',
    ]);
    // U+2E4F (Unicode 11) is punctuation for Node, not for the reference.
    expect(/\p{P}/u.test('\u2e4f')).toBe(true);
    expect(preTokenize({ type: 'BertPreTokenizer' }, 'a\u2e4fb,c')).toEqual(['a\u2e4fb', ',', 'c']);
  });

  test('Metaspace: each prepend scheme, split or not, and the older add_prefix_space field', () => {
    const meta = (extra: Record<string, unknown>, first = true) =>
      preTokenize({ type: 'Metaspace', replacement: '▁', ...extra }, 'hi there', first);
    expect(meta({ prepend_scheme: 'always', split: true })).toEqual(['▁hi', '▁there']);
    expect(meta({ prepend_scheme: 'first', split: true }, false)).toEqual(['hi', '▁there']);
    expect(meta({ prepend_scheme: 'first', split: false })).toEqual(['▁hi▁there']);
    expect(meta({ prepend_scheme: 'never', split: false })).toEqual(['hi▁there']);
    expect(meta({ add_prefix_space: true })).toEqual(['▁hi', '▁there']);
    expect(meta({ add_prefix_space: false })).toEqual(['hi', '▁there']);
  });

  test('ByteLevel, Digits, Punctuation, WhitespaceSplit, Whitespace', () => {
    expect(preTokenize({ type: 'ByteLevel', add_prefix_space: true, use_regex: true }, "Hello world's é")).toEqual([
      'ĠHello',
      'Ġworld',
      "'s",
      'ĠÃ©',
    ]);
    expect(preTokenize({ type: 'Digits', individual_digits: false }, 'a12½b٣')).toEqual(['a', '12½', 'b', '٣']);
    expect(preTokenize({ type: 'Digits', individual_digits: true }, 'a12')).toEqual(['a', '1', '2']);
    expect(preTokenize({ type: 'Punctuation', behavior: 'Contiguous' }, 'a?!b')).toEqual(['a', '?!', 'b']);
    expect(preTokenize({ type: 'WhitespaceSplit' }, ' a\u0085b\ufeffc ')).toEqual(['a', 'b\ufeffc']);
    expect(preTokenize({ type: 'Whitespace' }, "it's 3.5%")).toEqual(['it', "'", 's', '3', '.', '5', '%']);
  });
});

describe('models', () => {
  const bpe = (extra: Record<string, unknown>) =>
    makeModel({
      type: 'BPE',
      vocab: { '<unk>': 0, a: 1, b: 2, c: 3, ab: 4, bc: 5, abc: 6, '<0xC3>': 7, '<0xA9>': 8 },
      merges: ['b c', 'a b', 'a bc'],
      ...extra,
    });

  test('BPE: merges by rank, then leftmost; unknown characters fused or spelled as bytes before merging', () => {
    // "b c" ranks first: a + bc, then a bc → abc.
    expect(bpe({}).encode('abc')).toEqual([6]);
    expect(bpe({}).encode('abab')).toEqual([4, 4]);
    expect(bpe({ unk_token: '<unk>', fuse_unk: true }).encode('xyab')).toEqual([0, 4]);
    expect(bpe({ unk_token: '<unk>', fuse_unk: false }).encode('xyab')).toEqual([0, 0, 4]);
    expect(bpe({ unk_token: '<unk>', byte_fallback: true }).encode('aébc')).toEqual([1, 7, 8, 5]);
    expect(bpe({ ignore_merges: true }).encode('bc')).toEqual([5]);
  });

  test('Unigram: best path, unknown characters fused and spelled as bytes with byte_fallback', () => {
    const vocab = [
      ['<unk>', 0],
      ['a', -1],
      ['b', -1],
      ['ab', -1.5],
      ['<0xC3>', -5],
      ['<0xA9>', -5],
    ];
    expect(makeModel({ type: 'Unigram', unk_id: 0, vocab }).encode('abéé')).toEqual([3, 0]);
    expect(makeModel({ type: 'Unigram', unk_id: 0, vocab, byte_fallback: true }).encode('abé')).toEqual([3, 4, 5]);
  });

  test("Unigram scores as the reference's JSON parser reads them (one unit in the last place off, as it is)", () => {
    expect(scoreAsRead(-7.3586955070495605)).toBe(-7.35869550704956);
    expect(scoreAsRead(-10.122307777404785)).toBe(-10.122307777404783);
    expect([scoreAsRead(0), scoreAsRead(-1.5), scoreAsRead(-1e-7)]).toEqual([0, -1.5, -1e-7]);
  });

  test('WordPiece: longest prefix, then ## pieces; a word that fails is the unknown token', () => {
    const wp = makeModel({
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 5,
      vocab: { '[UNK]': 0, un: 1, '##aff': 2, '##able': 3, u: 4 },
    });
    expect(wp.encode('unaffable')).toEqual([0]); // 9 characters > 5
    const wide = makeModel({
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      vocab: { '[UNK]': 0, un: 1, '##aff': 2, '##able': 3 },
    });
    expect(wide.encode('unaffable')).toEqual([1, 2, 3]);
    expect(wide.encode('unx')).toEqual([0]);
  });
});

describe('added tokens', () => {
  const vocab = new Map([
    ['a', 0],
    ['b', 1],
  ]);
  const tokens = [
    { id: 10, content: '<s>', special: true, normalized: false },
    { id: 11, content: '<l>', lstrip: true, normalized: false },
    { id: 12, content: '<r>', rstrip: true, normalized: false },
    { id: 13, content: 'w', single_word: true, normalized: false },
    { id: 14, content: 'Grüße', normalized: true },
  ];
  const lower = (t: string) => t.toLowerCase();
  const added = new AddedVocabulary(tokens, (c) => vocab.get(c), vocab.size, lower);

  test('ids as the reference assigns them: the model vocabulary size, then the next free id', () => {
    expect([...added.ids.entries()]).toEqual([
      ['<s>', 2],
      ['<l>', 3],
      ['<r>', 4],
      ['w', 5],
      ['Grüße', 6],
    ]);
  });

  test('raw tokens first, normalized tokens in normalized text; lstrip, rstrip and single_word', () => {
    expect(added.split('x <l> y<r>  z', lower)).toEqual([
      { text: 'x', first: true },
      { id: 3 },
      { text: ' y', first: false },
      { id: 4 },
      { text: 'z', first: false },
    ]);
    expect(added.split('<s>GRÜSSE grüße', lower)).toEqual([{ id: 2 }, { text: 'grüsse ', first: false }, { id: 6 }]);
    expect(added.split('aw w.', lower)).toEqual([{ text: 'aw ', first: true }, { id: 5 }, { text: '.', first: false }]);
  });
});

describe('pair templates', () => {
  test('RobertaProcessing gives the passage token type 0, as the reference; BertProcessing 1', () => {
    const roberta = PairTemplate.fromPostProcessor({ type: 'RobertaProcessing', cls: ['<s>', 0], sep: ['</s>', 2] });
    expect(roberta.apply([7], [8])).toEqual({ ids: Int32Array.from([0, 7, 2, 2, 8, 2]), typeIds: new Int32Array(6) });
    const bert = PairTemplate.fromPostProcessor({ type: 'BertProcessing', cls: ['[CLS]', 101], sep: ['[SEP]', 102] });
    expect(bert.apply([7], [8])).toEqual({ ids: Int32Array.from([101, 7, 102, 8, 102]), typeIds: Int32Array.from([0, 0, 0, 1, 1]) });
  });

  test('TemplateProcessing with a token of several ids; none: A then B', () => {
    const template = PairTemplate.fromPostProcessor({
      type: 'TemplateProcessing',
      pair: [{ SpecialToken: { id: 'X', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { X: { id: 'X', ids: [5, 6], tokens: ['X1', 'X2'] } },
    });
    expect(template.apply([7], [8])).toEqual({ ids: Int32Array.from([5, 6, 7, 8]), typeIds: Int32Array.from([0, 0, 0, 1]) });
    expect(PairTemplate.fromPostProcessor(null).apply([7], [8])).toEqual({
      ids: Int32Array.from([7, 8]),
      typeIds: Int32Array.from([0, 1]),
    });
    expect(() =>
      PairTemplate.fromPostProcessor({
        type: 'TemplateProcessing',
        pair: [{ Sequence: { id: 'B', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        special_tokens: {},
      }),
    ).toThrow(/query then the passage/);
  });
});
