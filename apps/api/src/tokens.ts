/** Injection tokens of values that are not classes (ports and their adapters, configuration). */
export const CONFIG = Symbol('RerankConfig');
export const REDIS = Symbol('Redis');
/** JobStore (Redis: redisJobStore). */
export const JOB_STORE = Symbol('JobStore');
/** DocumentStore (RERANK_DOCUMENT_STORE: Redis or files). */
export const DOCUMENT_STORE = Symbol('DocumentStore');
/** QuotaStore (Redis: RedisQuotaStore). */
export const QUOTA_STORE = Symbol('QuotaStore');
/** ScoringQueue (BullMQ: BullScoringQueue). */
export const SCORING_QUEUE = Symbol('ScoringQueue');
/** WorkersRegistry (Redis: RedisWorkersRegistry). */
export const WORKERS_REGISTRY = Symbol('WorkersRegistry');
/** Metrics (prom-client registry built from the metric catalogue). */
export const METRICS = Symbol('Metrics');
/** ClusterGauges: queue and worker gauges read from Redis at scrape time. */
export const CLUSTER_GAUGES = Symbol('ClusterGauges');
/** CancelSignals (Redis pub/sub: RedisCancelSignals): cancels of jobs and synchronous requests, to the workers. */
export const CANCEL_SIGNALS = Symbol('CancelSignals');
/** JobEventLog (Redis streams: RedisJobEventLog): what watchers of a job are told. */
export const JOB_EVENT_LOG = Symbol('JobEventLog');
