/** Injection tokens of values that are not classes. */
export const CONFIG = Symbol('RerankConfig');
export const REDIS = Symbol('Redis');
