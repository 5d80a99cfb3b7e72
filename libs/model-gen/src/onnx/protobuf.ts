/**
 * A minimal protobuf wire-format writer: just what the ONNX subset needs.
 *
 * A message is kept as a list of byte chunks plus their total length, so nested messages and large
 * tensors (hundreds of MB of raw_data) are never copied until the final `toBytes()` / file write.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

const textEncoder = new TextEncoder();

export class ProtoMessage {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  /** Small scratch buffer for tags/varints, flushed as one chunk before any large chunk is appended. */
  private scratch: number[] = [];

  private flush(): void {
    if (this.scratch.length > 0) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.length += this.scratch.length;
      this.scratch = [];
    }
  }

  private pushVarint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && value < 0x80000000 && Number.isInteger(value)) {
      let v = value;
      while (v >= 0x80) {
        this.scratch.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.scratch.push(v);
      return;
    }
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes), as protobuf does.
    let v = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
    if (v < 0n) v = BigInt.asUintN(64, v);
    if (v < 0x80n) {
      this.scratch.push(Number(v));
      return;
    }
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.pushVarint((field << 3) | wire);
  }

  /** int32 / int64 / enum field (wire type varint). */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.pushVarint(value);
    return this;
  }

  /** `float` field (wire type fixed32, little endian). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.scratch.push(x);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Length-delimited bytes; the array is referenced, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.pushVarint(value.length);
    if (value.length < 64) {
      for (const x of value) this.scratch.push(x);
    } else {
      this.flush();
      this.chunks.push(value);
      this.length += value.length;
    }
    return this;
  }

  /** Embedded message field. */
  message(field: number, msg: ProtoMessage): this {
    msg.flush();
    this.tag(field, WIRE_LEN);
    this.pushVarint(msg.length);
    this.flush();
    for (const c of msg.chunks) this.chunks.push(c);
    this.length += msg.length;
    return this;
  }

  /** All chunks, complete (flushes pending scratch bytes). */
  parts(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  toBytes(): Uint8Array {
    const parts = this.parts();
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}
