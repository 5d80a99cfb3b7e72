/**
 * SentencePiece's compiled normalization rules (`precompiled_charsmap` of a `Precompiled`
 * normalizer: nmt_nfkc and the other rule sets a SentencePiece model was trained with), applied as
 * the reference does (the `spm_precompiled` crate in Hugging Face `tokenizers`).
 *
 * The blob is `u32 trie size | trie (u32 units, a Darts double array over UTF-8 bytes) | rewrites
 * (UTF-8, each ended by NUL)`; a trie value is the byte offset of a rewrite. Text is walked by
 * grapheme cluster: a cluster shorter than 6 UTF-8 bytes is looked up whole, and if some prefix of
 * it is in the trie, the rewrite of the shortest such prefix replaces the whole cluster (that is how
 * the reference does it); otherwise each code point is looked up alone and replaced or kept.
 */
import { forEachGrapheme } from './unicode/graphemes';

export class PrecompiledCharsmap {
  private readonly units: Uint32Array;
  private readonly rewrites: Buffer;
  private readonly decoded = new Map<number, string>();
  private readonly bytes = new Uint8Array(32);

  constructor(base64: string) {
    const blob = Buffer.from(base64, 'base64');
    if (blob.length < 4) throw new Error('precompiled_charsmap is too short to hold its trie size');
    const trieBytes = blob.readUInt32LE(0);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length)
      throw new Error(`precompiled_charsmap declares a trie of ${trieBytes} bytes in a blob of ${blob.length}`);
    this.units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = blob.readUInt32LE(4 + 4 * i);
    this.rewrites = blob.subarray(4 + trieBytes);
  }

  normalize(text: string): string {
    let out = '';
    let changed = false;
    forEachGrapheme(text, (start, end) => {
      const cluster = text.slice(start, end);
      if (utf8Bytes(cluster, this.bytes) < 6) {
        const whole = this.transform(cluster);
        if (whole !== undefined) {
          out += whole;
          changed = true;
          return;
        }
      }
      for (let i = 0; i < cluster.length;) {
        const width = (cluster.codePointAt(i) as number) > 0xffff ? 2 : 1;
        const c = cluster.slice(i, i + width);
        const rewrite = this.transform(c);
        if (rewrite !== undefined) changed = true;
        out += rewrite ?? c;
        i += width;
      }
    });
    return changed ? out : text;
  }

  /** The rewrite of the shortest prefix of `chunk` (UTF-8) that the trie holds, if any. */
  private transform(chunk: string): string | undefined {
    const length = utf8Bytes(chunk, this.bytes);
    const u = this.units;
    let pos = offsetOf(u[0]);
    for (let k = 0; k < length; k++) {
      const c = this.bytes[k];
      if (c === 0) return undefined;
      pos ^= c;
      const unit = u[pos];
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== c) return undefined;
      pos ^= offsetOf(unit);
      if ((unit >>> 8) & 1) return this.rewrite(u[pos] & 0x7fffffff);
    }
    return undefined;
  }

  private rewrite(offset: number): string {
    let s = this.decoded.get(offset);
    if (s === undefined) {
      let end = offset;
      while (end < this.rewrites.length && this.rewrites[end] !== 0) end++;
      s = this.rewrites.toString('utf8', offset, end);
      this.decoded.set(offset, s);
    }
    return s;
  }
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & 0x200) >>> 6);
}

/** Writes the UTF-8 bytes of `s` (up to the buffer's size) and returns its full UTF-8 length. */
function utf8Bytes(s: string, out: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    }
    if (cp < 0x80) put(out, n++, cp);
    else if (cp < 0x800) {
      put(out, n++, 0xc0 | (cp >> 6));
      put(out, n++, 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      put(out, n++, 0xe0 | (cp >> 12));
      put(out, n++, 0x80 | ((cp >> 6) & 0x3f));
      put(out, n++, 0x80 | (cp & 0x3f));
    } else {
      put(out, n++, 0xf0 | (cp >> 18));
      put(out, n++, 0x80 | ((cp >> 12) & 0x3f));
      put(out, n++, 0x80 | ((cp >> 6) & 0x3f));
      put(out, n++, 0x80 | (cp & 0x3f));
    }
  }
  return n;
}

function put(out: Uint8Array, at: number, byte: number): void {
  if (at < out.length) out[at] = byte;
}
