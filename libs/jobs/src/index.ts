/**
 * @rerank/jobs: the framework-free core of the job system (configuration, request validation,
 * sharding, merging, the Redis job store, queue layout, webhook signing). The apps (api, worker,
 * aggregator, stack) are thin shells over it.
 */
export * from './config';
export * from './errors';
export * from './health-server';
export * from './infra-retry';
export * from './job-layout';
export * from './store/job-repository';
export * from './store/keys';
export * from './store/scripts';
export * from './job-view';
export * from './logger';
export * from './merge';
export * from './ports';
export * from './queues';
export * from './redis';
export * from './results';
export * from './sharding';
export * from './webhook';
export * from './store/workers-registry';
export * from './queue/scoring-queue';
export * from './queue/bull-flow';
export * from './queue/bull-scoring-queue';
export * from './queue/bull-consumers';
export * from './queue/tenant-slot';
export * from './queue/shard-priority';
export * from './queue/fair-queue';
export * from './validation/common';
export * from './validation/documents';
export * from './validation/engine-options';
export * from './validation/job-request';
export * from './validation/job-list-query';
export * from './validation/rerank-request';
export * from './model-facts';
export * from './net';
export * from './validation/ranked-documents';
export * from './validation/compat-requests';
export * from './contract/http-bodies';
export * from './observability/metric-catalogue';
export * from './observability/metrics';
export * from './observability/cluster-gauges';
