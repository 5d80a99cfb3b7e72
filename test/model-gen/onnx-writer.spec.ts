import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadSync } from 'protobufjs';
import { DataType, float16BitsToFloat32, float32ToFloat16Bits, GraphBuilder } from '@rerank/model-gen';

describe('ONNX encoding', () => {
  it('writes every attribute kind as onnx.proto declares it (decoded with the schema)', () => {
    const b = new GraphBuilder({ name: 'attrs', docString: 'doc' });
    const x = b.input('x', DataType.FLOAT, ['batch', 3]);
    const tensor = { name: 'half', dataType: DataType.FLOAT, dims: [], raw: new Uint8Array(Float32Array.of(0.5).buffer) };
    b.node(
      'Custom',
      [x],
      { i: -1, ints: [1, -2], s: 'déjà', f: { f: 0.25 }, floats: { floats: [1.5, -2] }, t: { tensor } },
      1,
      'com.example',
    );
    b.output('y', DataType.FLOAT, ['batch', 3]);
    const root = loadSync(join(__dirname, '..', '..', 'libs', 'model-gen', 'src', 'onnx', 'onnx.proto'));
    const model = root.lookupType('onnx.ModelProto').toObject(root.lookupType('onnx.ModelProto').decode(b.toBytes()), {
      longs: Number,
      enums: String,
      bytes: String,
    });
    // DataType names the schema's TensorProto.DataType values.
    const schemaTypes = root.lookupEnum('onnx.TensorProto.DataType').values;
    expect(DataType).toEqual(Object.fromEntries(Object.keys(DataType).map((k) => [k, schemaTypes[k]])));
    expect(model).toMatchObject({ irVersion: 8, producerName: 'rerank-model-gen', docString: 'doc' });
    expect(model.opsetImport).toEqual([{ version: 17 }]);
    expect(model.graph.input).toEqual([
      {
        name: 'x',
        type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] } } },
      },
    ]);
    const [node] = model.graph.node;
    expect(node).toMatchObject({ input: ['x'], output: ['custom'], name: 'custom_node', opType: 'Custom', domain: 'com.example' });
    expect(node.attribute).toEqual([
      { name: 'i', i: -1, type: 'INT' },
      { name: 'ints', ints: [1, -2], type: 'INTS' },
      { name: 's', s: Buffer.from('déjà').toString('base64'), type: 'STRING' },
      { name: 'f', f: 0.25, type: 'FLOAT' },
      { name: 'floats', floats: [1.5, -2], type: 'FLOATS' },
      {
        name: 't',
        t: { dataType: DataType.FLOAT, name: 'half', rawData: Buffer.from(tensor.raw).toString('base64') },
        type: 'TENSOR',
      },
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
});
