/**
 * Deterministic pseudo-random numbers: mulberry32 for uniforms, Box–Muller for normals.
 * Same seed → same sequence on every platform (pure 32-bit integer arithmetic plus log/cos/sin,
 * which are deterministic in V8).
 */
// Module-local copies: global lookups (Math.*) are very slow inside vm contexts such as Jest's, and these
// run hundreds of millions of times for large presets.
const { imul, floor, sqrt, log, sin, cos, PI } = Math;

export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    // Mix the seed so that nearby seeds give unrelated streams.
    this.state = (imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return floor(this.next() * n);
  }

  /** Integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = sqrt(-2 * log(u));
    this.spare = r * sin(2 * PI * v);
    return r * cos(2 * PI * v);
  }

  /** A derived generator, so that one part's draws do not shift another's. */
  fork(salt: number): Rng {
    return new Rng((this.int(0x7fffffff) ^ imul(salt + 1, 0x27d4eb2d)) | 0);
  }
}

/** `n` values ~ N(mean, std²). */
export function normalArray(rng: Rng, n: number, std: number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return out;
}

/** `n` values uniform in [lo, hi). */
export function uniformArray(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

/** Stable 32-bit hash of a string (FNV-1a), to derive per-tensor seeds from names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = imul(h, 0x01000193);
  }
  return h >>> 0;
}
