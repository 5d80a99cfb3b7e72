/**
 * The added tokens of tokenizer.json (special tokens and user tokens), found in text as the reference
 * finds them (`AddedVocabulary::extract_and_normalize`): first the tokens that are not normalized, in
 * the raw text; then, in each normalized piece between them, the normalized tokens. Matches are
 * leftmost-longest; `single_word` drops a match touching a word character (the `regex` crate's \w);
 * `lstrip` / `rstrip` take the whitespace beside a match into it.
 */
import { isWhitespace, wordChars } from './unicode/properties';

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** A piece of text: an added token's id, or text for the model (`first`: it starts the text). */
export type Section = { id: number } | { text: string; first: boolean };

interface Candidate {
  id: number;
  token: AddedTokenJson;
}

/** Leftmost-longest matching of a set of strings over UTF-16 code units. */
class Matcher {
  private readonly edges = new Map<number, number>();
  private readonly ends = new Map<number, Candidate>();
  private readonly firstUnits = new Set<number>();
  private nodes = 1;

  add(text: string, candidate: Candidate): void {
    if (!text) return;
    this.firstUnits.add(text.charCodeAt(0));
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      const key = node * 0x10000 + text.charCodeAt(i);
      let child = this.edges.get(key);
      if (child === undefined) this.edges.set(key, (child = this.nodes++));
      node = child;
    }
    // Two tokens may normalize to the same text: the first one added wins, as in the reference.
    if (!this.ends.has(node)) this.ends.set(node, candidate);
  }

  get empty(): boolean {
    return this.firstUnits.size === 0;
  }

  /** Non-overlapping leftmost-longest matches: [start, end, candidate]. */
  find(text: string): [number, number, Candidate][] {
    const out: [number, number, Candidate][] = [];
    for (let i = 0; i < text.length;) {
      if (!this.firstUnits.has(text.charCodeAt(i))) {
        i++;
        continue;
      }
      let node = 0;
      let best: [number, Candidate] | undefined;
      for (let j = i; j < text.length; j++) {
        const child = this.edges.get(node * 0x10000 + text.charCodeAt(j));
        if (child === undefined) break;
        node = child;
        const c = this.ends.get(node);
        if (c) best = [j + 1, c];
      }
      if (best) {
        out.push([i, best[0], best[1]]);
        i = best[0];
      } else i++;
    }
    return out;
  }
}

export class AddedVocabulary {
  private readonly raw = new Matcher();
  private readonly normalized = new Matcher();
  /** content → id, as the reference assigns them (see the constructor). */
  readonly ids = new Map<string, number>();

  /**
   * `modelTokenId` finds a content in the model's vocabulary; `normalize` is the tokenizer's
   * normalizer (normalized tokens are matched in normalized text by their normalized content).
   */
  constructor(
    tokens: AddedTokenJson[],
    modelTokenId: (content: string) => number | undefined,
    modelSize: number,
    normalize: ((text: string) => string) | undefined,
  ) {
    // The reference re-adds the file's tokens in order: a content keeps the id it already has (added
    // or in the model), a new one takes the next free id after the model's vocabulary.
    const specials: AddedTokenJson[] = [];
    const others: AddedTokenJson[] = [];
    const seen = new Set<string>();
    for (const t of tokens) {
      if (!t.content) continue;
      if (t.special && !seen.has(t.content)) specials.push(t);
      let id = this.ids.get(t.content) ?? modelTokenId(t.content);
      if (id === undefined) {
        const max = Math.max(-1, ...this.ids.values());
        id = max >= modelSize || modelSize === 0 ? max + 1 : modelSize;
      }
      this.ids.set(t.content, id);
      if (!t.special && !seen.has(t.content)) others.push(t);
      seen.add(t.content);
    }
    for (const t of [...specials, ...others]) {
      const candidate = { id: this.ids.get(t.content) as number, token: t };
      if (t.normalized ?? !t.special) this.normalized.add(normalize ? normalize(t.content) : t.content, candidate);
      else this.raw.add(t.content, candidate);
    }
  }

  /** Added tokens and the normalized text between them, in order. */
  split(text: string, normalize: ((text: string) => string) | undefined): Section[] {
    const out: Section[] = [];
    for (const piece of this.extract(text, this.raw, 0)) {
      if ('id' in piece) {
        out.push(piece);
        continue;
      }
      const normalized = normalize ? normalize(piece.text) : piece.text;
      for (const sub of this.extract(normalized, this.normalized, piece.start)) {
        out.push('id' in sub ? sub : { text: sub.text, first: sub.start === 0 });
      }
    }
    return out;
  }

  /** Matches of one set in `text` (which starts at `offset` of the original), with the text between. */
  private extract(text: string, matcher: Matcher, offset: number): ({ id: number } | { text: string; start: number })[] {
    if (matcher.empty) return text ? [{ text, start: offset }] : [];
    const out: ({ id: number } | { text: string; start: number })[] = [];
    let from = 0;
    for (const [matchStart, matchEnd, { id, token }] of matcher.find(text)) {
      let start = matchStart;
      let end = matchEnd;
      if (token.single_word) {
        const before = start > 0 && wordChars().has(codePointBefore(text, start));
        const after = end < text.length && wordChars().has(text.codePointAt(end) as number);
        if (before || after) continue;
      }
      if (token.lstrip) {
        let s = start;
        while (s > 0 && isWhitespace(text.charCodeAt(s - 1))) s--;
        start = Math.max(s, from);
      }
      if (token.rstrip) while (end < text.length && isWhitespace(text.charCodeAt(end))) end++;
      if (from < start) out.push({ text: text.slice(from, start), start: offset + from });
      out.push({ id });
      from = end;
    }
    if (from < text.length) out.push({ text: text.slice(from), start: offset + from });
    return out;
  }
}

function codePointBefore(text: string, at: number): number {
  const low = text.charCodeAt(at - 1);
  if (low >= 0xdc00 && low <= 0xdfff && at >= 2) {
    const high = text.charCodeAt(at - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(at - 2) as number;
  }
  return low;
}
