/**
 * A small builder for ONNX graphs: initializers, nodes with generated output names, graph inputs and
 * outputs, and serialization. It also carries the graph's float type ("compute dtype"): float
 * constants and casts made through `constFloat` / `castFloat` follow it, so the same model code emits an
 * fp32 or an fp16 graph.
 */
import { writeFileSync } from 'node:fs';
import { AttrValue, DataType, DataTypeCode, encodeModel, ModelData, NodeData, TensorData, ValueInfoData } from './onnx-proto';
import { toFloat16Array } from './float16';

/** onnxruntime's contrib operator domain (Attention, SkipLayerNormalization, BiasGelu, ...). */
export const MS_DOMAIN = 'com.microsoft';

export type FloatType = 'float32' | 'float16';

export interface GraphBuilderOptions {
  name?: string;
  floatType?: FloatType;
  /** Default-domain opset; 17 is the first with LayerNormalization. */
  opset?: number;
  irVersion?: number;
  docString?: string;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  readonly floatType: FloatType;
  private readonly nodes: NodeData[] = [];
  private readonly initializers: TensorData[] = [];
  private readonly inputs: ValueInfoData[] = [];
  private readonly outputs: ValueInfoData[] = [];
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly constCache = new Map<string, string>();
  private parameterCount = 0;

  constructor(private readonly options: GraphBuilderOptions = {}) {
    this.floatType = options.floatType ?? 'float32';
  }

  /** ONNX element type code of the graph's float type. */
  get floatCode(): DataTypeCode {
    return this.floatType === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  }

  /** Number of elements in float initializers added with `param` (the model's parameters). */
  get parameters(): number {
    return this.parameterCount;
  }

  private unique(base: string): string {
    let name = base;
    let n = this.counters.get(base) ?? 0;
    while (this.names.has(name)) name = `${base}_${++n}`;
    this.counters.set(base, n);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: DataTypeCode, dims: (number | string)[]): string {
    this.names.add(name);
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  output(name: string, elemType: DataTypeCode, dims: (number | string)[]): void {
    this.outputs.push({ name, elemType, dims });
  }

  /** Adds an initializer holding raw typed data. */
  initializer(name: string, data: ArrayBufferView, dataType: DataTypeCode, dims: number[]): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dataType, dims, raw: bytesOf(data) });
    return n;
  }

  /** A float32 weight, stored in the graph's float type, counted as a parameter. */
  param(name: string, values: Float32Array, dims: number[]): string {
    this.parameterCount += values.length;
    return this.floatInit(name, values, dims);
  }

  /** Counts parameters stored some other way (e.g. quantized weights). */
  countParameters(n: number): void {
    this.parameterCount += n;
  }

  /** A float tensor stored in the graph's float type (not counted as a parameter). */
  floatInit(name: string, values: Float32Array, dims: number[]): string {
    if (this.floatType === 'float16') return this.initializer(name, toFloat16Array(values), DataType.FLOAT16, dims);
    return this.initializer(name, values, DataType.FLOAT, dims);
  }

  /** An int64 constant (cached: the same values and dims give the same initializer). */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.initializer('const_i64', BigInt64Array.from(values.map((v) => BigInt(v))), DataType.INT64, dims);
    this.constCache.set(key, name);
    return name;
  }

  /** A scalar (dims []) int64 constant. */
  scalarInt64(value: number): string {
    return this.constInt64([value], []);
  }

  /** A float constant in the graph's float type (cached). */
  constFloat(values: number[], dims: number[] = [values.length]): string {
    const key = `f:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.floatInit('const_f', Float32Array.from(values), dims);
    this.constCache.set(key, name);
    return name;
  }

  scalarFloat(value: number): string {
    return this.constFloat([value], []);
  }

  /** Adds a node; returns its output names (`outputs` of them, default 1). */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, domain?: string): string[] {
    const base = opType.toLowerCase();
    const name = this.unique(`${base}_node`);
    const outs = Array.from({ length: outputs }, () => this.unique(base));
    this.nodes.push({ opType, inputs, outputs: outs, name, attrs, domain });
    return outs;
  }

  /** Single-output onnxruntime contrib operator (domain com.microsoft). */
  contrib(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs, 1, MS_DOMAIN)[0];
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0];
  }

  /** A node whose (single) output gets a chosen name, e.g. a graph output. */
  named(outputName: string, opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    if (this.names.has(outputName)) throw new Error(`name already used: ${outputName}`);
    this.names.add(outputName);
    this.nodes.push({ opType, inputs, outputs: [outputName], name: this.unique(`${opType.toLowerCase()}_node`), attrs });
    return outputName;
  }

  /** Cast to the graph's float type. */
  castFloat(x: string): string {
    return this.op('Cast', [x], { to: this.floatCode });
  }

  build(): ModelData {
    // Contrib operators (fused transformer kernels) live in onnxruntime's com.microsoft domain.
    const contrib = this.nodes.some((n) => n.domain === MS_DOMAIN);
    return {
      irVersion: this.options.irVersion ?? 8,
      opsets: [{ domain: '', version: this.options.opset ?? 17 }, ...(contrib ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
      producerName: 'rerank-model-gen',
      producerVersion: '0.1.0',
      graphName: this.options.name ?? 'graph',
      docString: this.options.docString,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }

  toBytes(): Uint8Array {
    return encodeModel(this.build());
  }

  /** Writes the serialized model; returns the byte count. */
  writeTo(path: string): number {
    const bytes = this.toBytes();
    writeFileSync(path, bytes);
    return bytes.length;
  }
}
