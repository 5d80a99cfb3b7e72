/**
 * Encoders for the subset of onnx.proto (ModelProto and what it contains) the generator emits.
 * Field numbers are those of onnx/onnx.proto (proto2); repeated scalars are written unpacked,
 * which every protobuf parser accepts.
 */
import { ProtoMessage } from './protobuf';

/** TensorProto.DataType values. */
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

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

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

export function encodeTensor(t: TensorData): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.int(1, d);
  m.int(2, t.dataType);
  m.string(8, t.name);
  m.bytes(9, t.raw);
  return m;
}

function encodeAttribute(name: string, value: AttrValue): ProtoMessage {
  const m = new ProtoMessage();
  m.string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { f: ${value} } for floats`);
    m.int(3, value).int(20, AttrType.INT);
  } else if (typeof value === 'string') {
    m.string(4, value).int(20, AttrType.STRING);
  } else if (Array.isArray(value)) {
    for (const v of value) m.int(8, v);
    m.int(20, AttrType.INTS);
  } else if ('f' in value) {
    m.float(2, value.f).int(20, AttrType.FLOAT);
  } else if ('floats' in value) {
    for (const v of value.floats) m.float(7, v);
    m.int(20, AttrType.FLOATS);
  } else {
    m.message(5, encodeTensor(value.tensor)).int(20, AttrType.TENSOR);
  }
  return m;
}

function encodeNode(n: NodeData): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name);
  m.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs)) m.message(5, encodeAttribute(k, v));
  if (n.domain) m.string(7, n.domain);
  return m;
}

function encodeValueInfo(v: ValueInfoData): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    const dim = new ProtoMessage();
    if (typeof d === 'string') dim.string(2, d);
    else dim.int(1, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoMessage().int(1, v.elemType).message(2, shape);
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, v.name).message(2, type);
}

export function encodeModel(model: ModelData): ProtoMessage {
  const g = new ProtoMessage();
  for (const n of model.nodes) g.message(1, encodeNode(n));
  g.string(2, model.graphName);
  for (const t of model.initializers) g.message(5, encodeTensor(t));
  for (const i of model.inputs) g.message(11, encodeValueInfo(i));
  for (const o of model.outputs) g.message(12, encodeValueInfo(o));

  const m = new ProtoMessage();
  m.int(1, model.irVersion);
  m.string(2, model.producerName);
  m.string(3, model.producerVersion);
  if (model.docString) m.string(6, model.docString);
  m.message(7, g);
  for (const o of model.opsets) {
    const op = new ProtoMessage();
    if (o.domain) op.string(1, o.domain);
    op.int(2, o.version);
    m.message(8, op);
  }
  for (const [k, v] of Object.entries(model.metadata ?? {})) {
    m.message(14, new ProtoMessage().string(1, k).string(2, v));
  }
  return m;
}
