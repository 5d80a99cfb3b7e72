/**
 * Deterministic English-like text from the vocabulary words, for tests and benchmarks.
 * Word choice is skewed towards the start of the word list (core words first), roughly Zipf-like.
 */
import { Rng } from '../weights';
import { textWords } from './vocab';

export type LengthMix = 'short' | 'realistic';

export interface TextOptions {
  /** 'short' (default): queries 3–8 words, passages 10–40; 'realistic': queries 3–20, passages
   *  20–400 words, long-tailed (log-normal, median ≈ 70). */
  lengths?: LengthMix;
}

function pickWord(rng: Rng, words: readonly string[]): string {
  const u = rng.next();
  return words[Math.floor(u * u * words.length)];
}

function capitalize(w: string): string {
  return w.charAt(0).toUpperCase() + w.slice(1);
}

function logNormalInt(rng: Rng, median: number, sigma: number, lo: number, hi: number): number {
  const v = Math.round(median * Math.exp(sigma * rng.normal()));
  return Math.max(lo, Math.min(hi, v));
}

export function randomQuery(rng: Rng, words: readonly string[], options: TextOptions = {}): string {
  const n = options.lengths === 'realistic' ? logNormalInt(rng, 7, 0.45, 3, 20) : rng.range(3, 8);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pickWord(rng, words));
  return capitalize(out.join(' ')) + '?';
}

export function randomPassage(rng: Rng, words: readonly string[], options: TextOptions = {}): string {
  const n = options.lengths === 'realistic' ? logNormalInt(rng, 70, 0.8, 20, 400) : rng.range(10, 40);
  const sentences: string[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(left, rng.range(5, 18));
    left -= len;
    const ws: string[] = [];
    for (let i = 0; i < len; i++) {
      let w = pickWord(rng, words);
      if (i > 0 && i < len - 1 && rng.next() < 0.08) w += ',';
      ws.push(w);
    }
    sentences.push(capitalize(ws.join(' ')) + '.');
  }
  return sentences.join(' ');
}

export interface Corpus {
  query(): string;
  passage(): string;
  pair(): [string, string];
  pairs(n: number): [string, string][];
}

/** A seeded text source; `words` defaults to the core words plus 2000 pseudo-words. */
export function makeCorpus(seed: number, options: TextOptions & { words?: readonly string[] } = {}): Corpus {
  const rng = new Rng(seed);
  const words = options.words ?? textWords();
  const query = () => randomQuery(rng, words, options);
  const passage = () => randomPassage(rng, words, options);
  const pair = (): [string, string] => [query(), passage()];
  return { query, passage, pair, pairs: (n) => Array.from({ length: n }, pair) };
}
