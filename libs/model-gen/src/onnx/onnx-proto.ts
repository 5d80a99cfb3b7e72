/**
 * The generator's graphs as ONNX ModelProto bytes, encoded by protobufjs from onnx's own schema:
 * onnx.proto beside this file is the one the `onnx` Python package 1.17 ships (Apache-2.0, proto2:
 * repeated scalars unpacked, fields written in field-number order).
 */
import { join } from 'node:path';
import { loadSync } from 'protobufjs';

const onnx = loadSync(join(__dirname, 'onnx.proto'));
const ModelProto = onnx.lookupType('onnx.ModelProto');
const AttributeType = onnx.lookupEnum('onnx.AttributeProto.AttributeType').values;

/** TensorProto.DataType values the generator uses (the schema's names and numbers). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export interface TensorData {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /** Little-endian element bytes (the host is assumed little endian, as Node on x64/arm64 is). */
  raw: Uint8Array;
}

/**
 * Node attribute values: an integer `number` is INT, `number[]` is INTS, `string` is STRING;
 * floats must be tagged (`{ f }`, `{ floats }`) since 1 and 1.0 are the same JavaScript number.
 */
export type AttrValue = number | number[] | string | { f: number } | { floats: number[] } | { tensor: TensorData };

export interface NodeData {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrValue>;
  domain?: string;
}

/** A tensor's element type and shape; a string dim is symbolic (`dim_param`). */
export interface ValueInfoData {
  name: string;
  elemType: DataTypeCode;
  dims: (number | string)[];
}

export interface ModelData {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graphName: string;
  nodes: NodeData[];
  initializers: TensorData[];
  inputs: ValueInfoData[];
  outputs: ValueInfoData[];
  docString?: string;
  metadata?: Record<string, string>;
}

const tensorProto = (t: TensorData) => ({ dims: t.dims, dataType: t.dataType, name: t.name, rawData: t.raw });

function attributeProto(name: string, value: AttrValue) {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { f: ${value} } for floats`);
    return { name, i: value, type: AttributeType.INT };
  }
  if (typeof value === 'string') return { name, s: Buffer.from(value, 'utf8'), type: AttributeType.STRING };
  if (Array.isArray(value)) return { name, ints: value, type: AttributeType.INTS };
  if ('f' in value) return { name, f: value.f, type: AttributeType.FLOAT };
  if ('floats' in value) return { name, floats: value.floats, type: AttributeType.FLOATS };
  return { name, t: tensorProto(value.tensor), type: AttributeType.TENSOR };
}

const valueInfoProto = (v: ValueInfoData) => ({
  name: v.name,
  type: {
    tensorType: {
      elemType: v.elemType,
      shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

/** The serialized ModelProto of `model`. */
export function encodeModel(model: ModelData): Uint8Array {
  const graph = {
    node: model.nodes.map((n) => ({
      input: n.inputs,
      output: n.outputs,
      name: n.name,
      opType: n.opType,
      attribute: Object.entries(n.attrs).map(([k, v]) => attributeProto(k, v)),
      ...(n.domain ? { domain: n.domain } : {}),
    })),
    name: model.graphName,
    initializer: model.initializers.map(tensorProto),
    input: model.inputs.map(valueInfoProto),
    output: model.outputs.map(valueInfoProto),
  };
  return ModelProto.encode({
    irVersion: model.irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    ...(model.docString ? { docString: model.docString } : {}),
    graph,
    opsetImport: model.opsets.map((o) => ({ ...(o.domain ? { domain: o.domain } : {}), version: o.version })),
    metadataProps: Object.entries(model.metadata ?? {}).map(([key, value]) => ({ key, value })),
  }).finish();
}
