/**
 * The models of tokenizer.json: one pre-tokenized word in, token ids out, as the reference computes
 * them. `@huggingface/tokenizers` resolves unknown characters and byte fallback differently (BPE,
 * Unigram) and joins character arrays for every WordPiece attempt (slow on long words), so the four
 * models are written here:
 * - WordPiece: the longest vocabulary prefix, then `##`-prefixed pieces; any failure, or more than
 *   max_input_chars_per_word characters, makes the whole word the unknown token;
 * - BPE: the reference maps each character to its id, or to its UTF-8 byte tokens (byte_fallback),
 *   or to the unknown token (consecutive ones fused), before merging; merges are applied by rank,
 *   then leftmost; `ignore_merges` takes a word that is a whole token as is;
 * - Unigram: SentencePiece's best path (its optimized Viterbi, ties to the earlier candidate),
 *   consecutive unknown characters fused into one piece, which byte_fallback spells as byte tokens.
 */
export interface WordModel {
  /** Token ids of one (non-empty) word (shared: not to be modified). */
  encode(word: string): readonly number[];
  /** The id of a token of the model's vocabulary. */
  tokenToId(token: string): number | undefined;
}

type Json = Record<string, unknown>;

export function makeModel(json: Json): WordModel {
  switch (json.type) {
    case 'BPE':
      return new Bpe(json);
    case 'Unigram':
      return new Unigram(json);
    case 'WordPiece':
      return wordPiece(json);
    case 'WordLevel':
      return wordLevel(json);
    default:
      // Files without a type: the reference tries the models in this order.
      if (json.type === undefined && json.merges) return new Bpe(json);
      if (json.type === undefined && Array.isArray(json.vocab)) return new Unigram(json);
      throw new Error(`unknown model type ${JSON.stringify(json.type)}`);
  }
}

function vocabMap(json: Json): Map<string, number> {
  return new Map(Object.entries((json.vocab ?? {}) as Record<string, number>));
}

function wordPiece(json: Json): WordModel {
  const vocab = vocabMap(json);
  const prefix = typeof json.continuing_subword_prefix === 'string' ? json.continuing_subword_prefix : '##';
  const maxChars = typeof json.max_input_chars_per_word === 'number' ? json.max_input_chars_per_word : 100;
  const unk = vocab.get(typeof json.unk_token === 'string' ? json.unk_token : '[UNK]');
  // No piece is longer than the longest token: longer attempts cannot match.
  let longest = 0;
  for (const token of vocab.keys()) longest = Math.max(longest, token.length);
  const unknown = (word: string) => {
    if (unk === undefined) throw new Error(`WordPiece: ${JSON.stringify(word)} needs the unknown token, which is not in the vocabulary`);
    return [unk];
  };
  return {
    encode: (word) => {
      let chars = 0;
      for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) < 0xdc00 || word.charCodeAt(i) > 0xdfff) chars++;
      if (chars > maxChars) return unknown(word);
      const ids: number[] = [];
      for (let start = 0; start < word.length;) {
        let end = Math.min(word.length, start + longest);
        let found: number | undefined;
        while (end > start) {
          found = vocab.get(start > 0 ? prefix + word.slice(start, end) : word.slice(start, end));
          if (found !== undefined) break;
          const low = word.charCodeAt(end - 1);
          end -= low >= 0xdc00 && low <= 0xdfff && end - 2 >= start ? 2 : 1;
        }
        if (found === undefined) return unknown(word);
        ids.push(found);
        start = end;
      }
      return ids;
    },
    tokenToId: (token) => vocab.get(token),
  };
}

function wordLevel(json: Json): WordModel {
  const vocab = vocabMap(json);
  const unk = vocab.get(String(json.unk_token));
  return {
    encode: (word) => {
      const id = vocab.get(word) ?? unk;
      if (id === undefined) throw new Error(`WordLevel: ${JSON.stringify(word)} is not in the vocabulary and it has no unknown token`);
      return [id];
    },
    tokenToId: (token) => vocab.get(token),
  };
}

class Bpe implements WordModel {
  private readonly vocab: Map<string, number>;
  /** Merges by left id, then right id → rank (a later duplicate overrides, as in the reference). */
  private readonly merges: (Map<number, number> | undefined)[] = [];
  /** The merged token's id, by rank. */
  private readonly mergedId: Int32Array;
  private readonly unkId: number | undefined;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly byteIds: (number | undefined)[];

  constructor(json: Json) {
    this.vocab = vocabMap(json);
    this.prefix = typeof json.continuing_subword_prefix === 'string' ? json.continuing_subword_prefix : '';
    this.suffix = typeof json.end_of_word_suffix === 'string' ? json.end_of_word_suffix : '';
    this.fuseUnk = json.fuse_unk === true;
    this.byteFallback = json.byte_fallback === true;
    this.ignoreMerges = json.ignore_merges === true;
    if (typeof json.unk_token === 'string') {
      this.unkId = this.vocab.get(json.unk_token);
      if (this.unkId === undefined) throw new Error(`BPE: the unknown token ${JSON.stringify(json.unk_token)} is not in the vocabulary`);
    }
    this.byteIds = Array.from({ length: 256 }, (_, b) => this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
    const prefixBytes = Buffer.byteLength(this.prefix);
    const merges = (json.merges ?? []) as (string | [string, string])[];
    this.mergedId = new Int32Array(merges.length);
    merges.forEach((merge, rank) => {
      const [a, b] = typeof merge === 'string' ? splitMerge(merge) : merge;
      const aId = this.vocab.get(a);
      const bId = this.vocab.get(b);
      const merged = this.vocab.get(a + Buffer.from(b).subarray(prefixBytes).toString());
      if (aId === undefined || bId === undefined || merged === undefined)
        throw new Error(`BPE: the merge ${JSON.stringify(merge)} uses a token that is not in the vocabulary`);
      (this.merges[aId] ??= new Map()).set(bId, rank);
      this.mergedId[rank] = merged;
    });
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  encode(word: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return [whole];
    }
    const ids = this.symbols(word);
    return ids.length > 1 ? this.mergeAll(ids) : ids;
  }

  /** The word's characters as ids (with prefix / suffix, byte fallback, unknown tokens). */
  private symbols(word: string): number[] {
    const ids: number[] = [];
    let unk = false;
    for (let i = 0; i < word.length;) {
      const cp = word.codePointAt(i) as number;
      const width = cp > 0xffff ? 2 : 1;
      let s = word.slice(i, i + width);
      if (i > 0) s = this.prefix + s;
      if (i + width >= word.length) s = s + this.suffix;
      i += width;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unk) ids.push(this.unkId as number);
        unk = false;
        ids.push(id);
        continue;
      }
      if (this.byteFallback) {
        const bytes = [...Buffer.from(s, 'utf8')].map((b) => this.byteIds[b]);
        // The reference adds a pending unknown token only at the next known character or the end.
        if (bytes.every((b) => b !== undefined)) {
          ids.push(...bytes);
          continue;
        }
      }
      if (this.unkId !== undefined) {
        if (unk && !this.fuseUnk) ids.push(this.unkId);
        unk = true;
      }
    }
    if (unk) ids.push(this.unkId as number);
    return ids;
  }

  private rankOf(left: number, right: number): number {
    return this.merges[left]?.get(right) ?? -1;
  }

  /** Applies merges lowest rank first, then leftmost (the reference's Word::merge_all). */
  private mergeAll(ids: number[]): number[] {
    const n = ids.length;
    const sym = Int32Array.from(ids);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new MergeHeap(n);
    for (let i = 0; i + 1 < n; i++) {
      const rank = this.rankOf(sym[i], sym[i + 1]);
      if (rank >= 0) heap.push(rank, i);
    }
    while (heap.size) {
      const rank = heap.topRank();
      const pos = heap.pop();
      if (!alive[pos]) continue;
      const right = next[pos];
      if (right < 0) continue;
      // A stale entry: the pair at pos changed since (then its merge makes another token).
      const current = this.rankOf(sym[pos], sym[right]);
      if (current < 0 || this.mergedId[current] !== this.mergedId[rank]) continue;
      sym[pos] = this.mergedId[rank];
      alive[right] = 0;
      next[pos] = next[right];
      if (next[right] >= 0) prev[next[right]] = pos;
      if (prev[pos] >= 0) {
        const r = this.rankOf(sym[prev[pos]], sym[pos]);
        if (r >= 0) heap.push(r, prev[pos]);
      }
      if (next[pos] >= 0) {
        const r = this.rankOf(sym[pos], sym[next[pos]]);
        if (r >= 0) heap.push(r, pos);
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) out.push(sym[i]);
    return out;
  }
}

function splitMerge(merge: string): [string, string] {
  const parts = merge.split(' ');
  if (parts.length !== 2) throw new Error(`BPE: the merge ${JSON.stringify(merge)} is not two tokens separated by one space`);
  return [parts[0], parts[1]];
}

/** A binary min-heap of merges by (rank, position), in typed arrays. */
class MergeHeap {
  private ranks: Int32Array;
  private positions: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.ranks = new Int32Array(Math.max(4, 2 * capacity));
    this.positions = new Int32Array(this.ranks.length);
  }

  private less(i: number, j: number): boolean {
    return this.ranks[i] !== this.ranks[j] ? this.ranks[i] < this.ranks[j] : this.positions[i] < this.positions[j];
  }

  private swap(i: number, j: number): void {
    const r = this.ranks[i];
    this.ranks[i] = this.ranks[j];
    this.ranks[j] = r;
    const p = this.positions[i];
    this.positions[i] = this.positions[j];
    this.positions[j] = p;
  }

  push(rank: number, pos: number): void {
    if (this.size === this.ranks.length) {
      const ranks = new Int32Array(this.size * 2);
      ranks.set(this.ranks);
      const positions = new Int32Array(this.size * 2);
      positions.set(this.positions);
      this.ranks = ranks;
      this.positions = positions;
    }
    let i = this.size++;
    this.ranks[i] = rank;
    this.positions[i] = pos;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  topRank(): number {
    return this.ranks[0];
  }

  /** Removes the smallest entry and returns its position. */
  pop(): number {
    const pos = this.positions[0];
    const last = --this.size;
    if (last > 0) {
      this.ranks[0] = this.ranks[last];
      this.positions[0] = this.positions[last];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.size && this.less(l, m)) m = l;
        if (r < this.size && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return pos;
  }
}

/**
 * A trie of the vocabulary over UTF-16 code units. Edges live in one open-addressing hash table of
 * typed arrays (a vocabulary of 250,000 tokens has about a million nodes).
 */
class VocabTrie {
  private keyNode = new Int32Array(1 << 12).fill(-1);
  private keyUnit = new Uint16Array(1 << 12);
  private child = new Int32Array(1 << 12);
  private edges = 0;
  private ids = new Int32Array(1024).fill(-1);
  private nodes = 1;

  private slot(node: number, unit: number): number {
    const mask = this.keyNode.length - 1;
    let i = (Math.imul(node, 0x9e3779b1) ^ Math.imul(unit, 0x85ebca6b)) & mask;
    while (this.keyNode[i] >= 0 && (this.keyNode[i] !== node || this.keyUnit[i] !== unit)) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const [keyNode, keyUnit, child] = [this.keyNode, this.keyUnit, this.child];
    this.keyNode = new Int32Array(keyNode.length * 2).fill(-1);
    this.keyUnit = new Uint16Array(keyNode.length * 2);
    this.child = new Int32Array(keyNode.length * 2);
    for (let i = 0; i < keyNode.length; i++) {
      if (keyNode[i] < 0) continue;
      const j = this.slot(keyNode[i], keyUnit[i]);
      this.keyNode[j] = keyNode[i];
      this.keyUnit[j] = keyUnit[i];
      this.child[j] = child[i];
    }
  }

  insert(token: string, id: number): void {
    let node = 0;
    for (let i = 0; i < token.length; i++) {
      const unit = token.charCodeAt(i);
      let j = this.slot(node, unit);
      if (this.keyNode[j] < 0) {
        if (2 * (this.edges + 1) > this.keyNode.length) {
          this.grow();
          j = this.slot(node, unit);
        }
        this.keyNode[j] = node;
        this.keyUnit[j] = unit;
        this.child[j] = this.nodes++;
        this.edges++;
        if (this.nodes > this.ids.length) {
          const ids = new Int32Array(this.ids.length * 2).fill(-1);
          ids.set(this.ids);
          this.ids = ids;
        }
      }
      node = this.child[j];
    }
    this.ids[node] = id;
  }

  /** The node reached from `node` by `unit`, or -1. The root is node 0. */
  step(node: number, unit: number): number {
    const j = this.slot(node, unit);
    return this.keyNode[j] < 0 ? -1 : this.child[j];
  }

  /** The id of the token that ends at `node`, or -1. */
  idAt(node: number): number {
    return this.ids[node];
  }
}

const UNK_PENALTY = 10;
const POW10 = Array.from({ length: 309 }, (_, k) => Number(`1e${k}`));

/**
 * A score as the reference reads it from tokenizer.json: `serde_json` without its float_roundtrip
 * feature parses "-7.3586955070495605" as significand / 10^16 in floating point, which is one unit in
 * the last place off for about a fifth of SentencePiece scores, and that decides ties between paths.
 * The decimal digits are the shortest that give back `value` (what the file holds when a tokenizer or
 * Python's json wrote it).
 */
export function scoreAsRead(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const [mantissa, exp = '0'] = Math.abs(value).toString().split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  let f = Number(BigInt(whole + fraction));
  let exponent = Number(exp) - fraction.length;
  while (Math.abs(exponent) > 308 && f !== 0) {
    f /= 1e308;
    exponent += 308;
  }
  f = exponent >= 0 ? f * POW10[exponent] : f / POW10[-exponent];
  return value < 0 ? -f : f;
}

class Unigram implements WordModel {
  private readonly tokenIds = new Map<string, number>();
  private readonly scores: Float64Array;
  private readonly trie = new VocabTrie();
  private readonly unkId: number | undefined;
  private readonly unkScore: number;
  private readonly byteFallback: boolean;

  constructor(json: Json) {
    const vocab = (json.vocab ?? []) as [string, number][];
    this.scores = Float64Array.from(vocab.map((v) => scoreAsRead(v[1])));
    let min = Infinity;
    vocab.forEach(([token], id) => {
      this.tokenIds.set(token, id);
      if (this.scores[id] < min) min = this.scores[id];
    });
    // Every token of the vocabulary, as the last of duplicates (the reference's map keeps the last).
    for (const [token, id] of this.tokenIds) this.trie.insert(token, id);
    this.unkScore = min - UNK_PENALTY;
    this.unkId = typeof json.unk_id === 'number' ? json.unk_id : undefined;
    if (this.unkId !== undefined && (this.unkId < 0 || this.unkId >= vocab.length))
      throw new Error(`Unigram: unk_id ${this.unkId} is not in the vocabulary of ${vocab.length}`);
    this.byteFallback = json.byte_fallback === true;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenIds.get(token);
  }

  // Scratch space of the best-path search, grown as needed.
  private score = new Float64Array(64);
  private from = new Int32Array(64);
  private ids = new Int32Array(64);

  encode(word: string): number[] {
    const n = word.length;
    if (this.score.length <= n) {
      this.score = new Float64Array(2 * n + 2);
      this.from = new Int32Array(2 * n + 2);
      this.ids = new Int32Array(2 * n + 2);
    }
    // Best path ending at each UTF-16 offset: its score, where its last piece starts, its id.
    const { score, from, ids, trie, scores } = this;
    score[0] = 0;
    from.fill(-1, 0, n + 1);
    for (let start = 0; start < n;) {
      const base = score[start];
      const width = (word.codePointAt(start) as number) > 0xffff ? 2 : 1;
      let single = false;
      for (let i = start, node = 0; i < n; i++) {
        node = trie.step(node, word.charCodeAt(i));
        if (node < 0) break;
        const id = trie.idAt(node);
        if (id < 0) continue;
        const end = i + 1;
        const candidate = scores[id] + base;
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          ids[end] = id;
        }
        if (end - start === width) single = true;
      }
      if (!single) {
        if (this.unkId === undefined)
          throw new Error(
            `Unigram: ${JSON.stringify(word.slice(start, start + width))} is not in the vocabulary and it has no unknown token`,
          );
        const end = start + width;
        const candidate = this.unkScore + base;
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          ids[end] = this.unkId;
        }
      }
      start += width;
    }
    // Back from the end; consecutive unknown pieces fuse into one.
    const out: number[] = [];
    let unkEnd = -1;
    for (let end = n; end > 0;) {
      const start = from[end];
      if (ids[end] === this.unkId) {
        if (unkEnd < 0) unkEnd = end;
      } else {
        if (unkEnd >= 0) this.pushUnknown(out, word.slice(end, unkEnd));
        unkEnd = -1;
        out.push(ids[end]);
      }
      end = start;
    }
    if (unkEnd >= 0) this.pushUnknown(out, word.slice(0, unkEnd));
    return out.reverse();
  }

  /** Pushes, reversed, the ids of a piece of unknown characters (the reference looks the piece up first). */
  private pushUnknown(out: number[], text: string): void {
    const known = this.tokenIds.get(text);
    const ids = known !== undefined ? [known] : this.unknown(text);
    for (let i = ids.length - 1; i >= 0; i--) out.push(ids[i]);
  }

  /** A piece of unknown characters: its byte tokens (byte_fallback, all of them known) or the unknown token. */
  private unknown(text: string): number[] {
    if (this.byteFallback) {
      const bytes = [...Buffer.from(text, 'utf8')].map((b) => this.tokenIds.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
      if (bytes.every((b) => b !== undefined)) return bytes;
    }
    return [this.unkId as number];
  }
}
