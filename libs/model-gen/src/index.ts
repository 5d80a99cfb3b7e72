/**
 * @rerank/model-gen: small but real reranker models (ONNX graphs + tokenizer + configs) for tests and
 * benchmarks, generated deterministically from a seed.
 */
export { makeTestModel } from './make-test-model';
export type { MakeTestModelOptions, TestModelInfo } from './make-test-model';
export { PRESETS } from './presets';
export type { ModelDims, PresetName } from './presets';
export type { Family, ModelVariant } from './hf-config';
export { hfConfig, rerankerJson } from './hf-config';

export { buildEncoderGraph, XLMR_POSITION_OFFSET } from './graphs/encoder';
export type { EncoderGraphOptions, EncoderStyle } from './graphs/encoder';
export { buildDecoderGraph } from './graphs/decoder';
export type { DecoderFamily, DecoderGraphOptions } from './graphs/decoder';
export { DEFAULT_SCALES, MASK_NEG, ModelContext } from './graphs/layers';
export type { InitScales, TransformerDims } from './graphs/layers';
export { SEGMENT_PASSAGE, SEGMENT_PROMPT, SEGMENT_QUERY } from './graphs/lightweight';

export { GraphBuilder } from './onnx/graph-builder';
export type { FloatType, GraphBuilderOptions } from './onnx/graph-builder';
export { DataType, encodeModel } from './onnx/onnx-proto';
export type { AttrValue, DataTypeCode, ModelData, NodeData, TensorData, ValueInfoData } from './onnx/onnx-proto';
export { float16BitsToFloat32, float32ToFloat16Bits, toFloat16Array } from './onnx/float16';

export { Rng, hashString, normalArray, uniformArray } from './weights';

export * from './tokenizers';
