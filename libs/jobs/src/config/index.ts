/** The configuration: sectioned declarations (sections.ts), read and checked by load.ts. */
export { ConfigError, type Env, type EnvVar, PROCESSES, type ProcessName, closestName, editDistance, unknownVariables } from './env';
export {
  CONFIG_VARS,
  describeConfig,
  type Limits,
  loadConfig,
  loadConfigOrExit,
  type LoadOptions,
  readSection,
  type RerankConfig,
} from './load';
export { SECTIONS } from './sections';
export { type ApiKey, checkSlotModels, type DeviceSlot, type ModelConfig, parseDevices } from './structured-values';
