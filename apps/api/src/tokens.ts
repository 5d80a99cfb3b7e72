/** Injection tokens of values that are not classes (ports and their adapters, configuration). */
export const CONFIG = Symbol('RerankConfig');
export const REDIS = Symbol('Redis');
/** JobRepository (Redis). */
export const JOB_REPOSITORY = Symbol('JobRepository');
/** ScoringQueue (BullMQ: BullScoringQueue). */
export const SCORING_QUEUE = Symbol('ScoringQueue');
/** WorkersRegistry (Redis). */
export const WORKERS_REGISTRY = Symbol('WorkersRegistry');
