import { join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DataType, float16BitsToFloat32, float32ToFloat16Bits, GraphBuilder, ProtoMessage, Rng, normalArray } from '@rerank/model-gen';
import { tempDir } from './helpers';

describe('protobuf writer', () => {
  it('encodes varints, negative int64, floats, strings and nested messages', () => {
    const inner = new ProtoMessage().int(1, 150);
    const m = new ProtoMessage().int(1, 1).int(2, -1).float(3, 1.5).string(4, 'hi').message(5, inner);
    expect(Array.from(m.toBytes())).toEqual([
      0x08, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1d, 0x00, 0x00, 0xc0, 0x3f, 0x22, 0x02, 0x68, 0x69,
      0x2a, 0x03, 0x08, 0x96, 0x01,
    ]);
  });
});

describe('float16', () => {
  it('converts like IEEE half precision', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(0)).toBe(0);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
    for (const v of [0.1, -3.14159, 1234.5, 6e-5]) {
      expect(Math.abs(float16BitsToFloat32(float32ToFloat16Bits(v)) - v)).toBeLessThan(Math.abs(v) * 1e-3);
    }
  });
});

describe('GraphBuilder', () => {
  it('builds a graph ORT runs, with symbolic dims, attributes and initializers', async () => {
    const b = new GraphBuilder({ name: 'tiny' });
    const x = b.input('x', DataType.FLOAT, ['batch', 3]);
    const w = b.param('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    const y = b.op('MatMul', [x, w]);
    // A Constant node with a tensor attribute (0.5 as a float32 scalar).
    const half = b.op('Constant', [], {
      value: { tensor: { name: 'half', dataType: DataType.FLOAT, dims: [], raw: new Uint8Array(Float32Array.of(0.5).buffer) } },
    });
    const z = b.op('Softmax', [b.op('Mul', [y, half])], { axis: -1 });
    b.output('z', DataType.FLOAT, ['batch', 2]);
    b.named('z', 'LeakyRelu', [z], { alpha: { f: 0.1 } });
    const s = await ort.InferenceSession.create(b.toBytes());
    expect(s.inputNames).toEqual(['x']);
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0, 0, 0, 0, 2]), [2, 3]) });
    const z0 = Array.from(out.z.data as Float32Array);
    const e = (a: number, c: number) => [Math.exp(a) / (Math.exp(a) + Math.exp(c)), Math.exp(c) / (Math.exp(a) + Math.exp(c))];
    const want = [...e(0.5, 1), ...e(5, 6)];
    z0.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(b.parameters).toBe(6);
  });

  it('writes to a file exactly the bytes toBytes() gives (large and small chunks interleaved)', async () => {
    const dir = tempDir('mg-writer');
    try {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, ['n', 512]);
      let h = x;
      // Tensors around the 512 KiB coalescing threshold, separated by small messages.
      for (const [i, cols] of [200, 300, 600, 100].entries()) {
        const w = b.param(`w${i}`, normalArray(new Rng(i), cols * 512, 0.01), [512, cols]);
        h = b.op('MatMul', [h, w]);
        const back = b.param(`v${i}`, normalArray(new Rng(i + 9), cols * 512, 0.01), [cols, 512]);
        h = b.op('MatMul', [h, back]);
      }
      b.output('y', DataType.FLOAT, ['n', 512]);
      b.named('y', 'Identity', [h]);
      const path = join(dir, 'm.onnx');
      const n = b.writeTo(path);
      const file = readFileSync(path);
      const bytes = b.toBytes();
      expect(n).toBe(bytes.length);
      expect(Buffer.compare(file, Buffer.from(bytes))).toBe(0);
      await ort.InferenceSession.create(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
