/** Injection tokens of values that are not classes (ports and their adapters, configuration). */
export const CONFIG = Symbol('RerankConfig');
export const REDIS = Symbol('Redis');
/** JobRepository (Redis). */
export const JOB_REPOSITORY = Symbol('JobRepository');
/** ScoringQueue (BullMQ: BullScoringQueue). */
export const SCORING_QUEUE = Symbol('ScoringQueue');
/** WorkersRegistry (Redis). */
export const WORKERS_REGISTRY = Symbol('WorkersRegistry');
/** Metrics (prom-client registry built from the metric catalogue). */
export const METRICS = Symbol('Metrics');
/** ClusterGauges: queue and worker gauges read from Redis at scrape time. */
export const CLUSTER_GAUGES = Symbol('ClusterGauges');
