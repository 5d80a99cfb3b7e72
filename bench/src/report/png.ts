/**
 * The chart as a PNG, drawn by this code: an RGB raster, a built-in bitmap font (png-font.ts), and
 * the PNG container around zlib's deflate. No native modules.
 */
import { deflateSync } from 'node:zlib';
import type { ChartLayout } from './chart';
import { BASELINE, BOLD, CELL_H, CELL_W, CHARS, REGULAR } from './png-font';

class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3).fill(255);
  }

  /** Blends `color` over pixel (x, y) with coverage `a` in [0, 1]. */
  blend(x: number, y: number, color: readonly number[], a: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || a <= 0) return;
    const i = (y * this.width + x) * 3;
    for (let c = 0; c < 3; c++) this.data[i + c] = Math.round(this.data[i + c] * (1 - a) + color[c] * a);
  }

  fillRect(x: number, y: number, w: number, h: number, color: readonly number[]): void {
    // Partial coverage at the right edge keeps bar lengths exact to a fraction of a pixel.
    const x0 = Math.round(x);
    const y0 = Math.round(y);
    const full = Math.floor(x + w) - x0;
    const frac = x + w - Math.floor(x + w);
    for (let yy = y0; yy < y0 + Math.round(h); yy++) {
      for (let xx = x0; xx < x0 + full; xx++) this.blend(xx, yy, color, 1);
      if (frac > 0) this.blend(x0 + full, yy, color, frac);
    }
  }
}

function decodeAtlas(b64: string): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = bytes[i] >> 4;
    out[2 * i + 1] = bytes[i] & 15;
  }
  return out;
}

let atlases: { regular: Uint8Array; bold: Uint8Array } | undefined;

function drawText(
  r: Raster,
  text: string,
  x: number,
  baselineY: number,
  color: readonly number[],
  bold: boolean,
  anchor: 'start' | 'end',
): void {
  atlases ??= { regular: decodeAtlas(REGULAR), bold: decodeAtlas(BOLD) };
  const atlas = bold ? atlases.bold : atlases.regular;
  const glyphs = [...text];
  let left = Math.round(anchor === 'end' ? x - glyphs.length * CELL_W : x);
  const top = Math.round(baselineY) - BASELINE;
  const cell = CELL_W * CELL_H;
  for (const ch of glyphs) {
    let g = CHARS.indexOf(ch);
    if (g < 0) g = CHARS.indexOf('?');
    for (let yy = 0; yy < CELL_H; yy++) {
      for (let xx = 0; xx < CELL_W; xx++) {
        const v = atlas[g * cell + yy * CELL_W + xx];
        if (v) r.blend(left + xx, top + yy, color, v / 15);
      }
    }
    left += CELL_W;
  }
}

function rgb(hex: string): number[] {
  const h = hex.replace('#', '');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

export function encodePng(width: number, height: number, rgbData: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    raw.set(rgbData.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

export function layoutToPng(layout: ChartLayout): Buffer {
  const r = new Raster(layout.width, Math.ceil(layout.height));
  for (const p of layout.items) {
    if (p.kind === 'rect') r.fillRect(p.x, p.y, p.w, p.h, rgb(p.fill));
    else drawText(r, p.text, p.x, p.y, rgb(p.fill ?? '#000000'), Boolean(p.bold) || p.size >= 14, p.anchor);
  }
  return encodePng(r.width, r.height, r.data);
}
