/** Deterministic test texts: documents of varied length over a small vocabulary. */
const WORDS = (
  'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega ' +
  'river mountain city forest ocean desert island valley bridge tower market garden library museum harbor station'
).split(' ');

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function makeDocuments(count: number, seed = 1, minWords = 4, maxWords = 40): string[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const n = minWords + Math.floor(r() * (maxWords - minWords + 1));
    const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
    return `${words.join(' ')} #${i}`;
  });
}

export const QUERIES = ['alpha river', 'where is the old library near the harbor', 'omega'];

/** A query and documents a client would send (the rerank clients' tests): a few relevant, a few not. */
export const CAPITAL_QUERY = 'capital of France';
export const CAPITAL_DOCS = [
  'Paris is the capital of France.',
  'The river flows to the ocean.',
  'France borders Spain.',
  'Capital cities have many museums.',
  'alpha beta gamma',
];
