/**
 * @rerank/jobs: the framework-free core of the job system (configuration, request validation,
 * sharding, merging, the Redis job store, queue layout, webhook signing). The apps (api, worker,
 * aggregator, stack) are thin shells over it.
 */
export * from './config';
export * from './errors';
export * from './flow';
export * from './health-server';
export * from './infra-retry';
export * from './job-store';
export * from './job-view';
export * from './logger';
export * from './merge';
export * from './ports';
export * from './queues';
export * from './redis';
export * from './results';
export * from './sharding';
export * from './supervisor';
export * from './webhook';
export * from './workers-registry';
export * from './validation/common';
export * from './validation/documents';
export * from './validation/engine-options';
export * from './validation/job-request';
export * from './validation/rerank-request';
export * from './model-facts';
export * from './net';
export * from './validation/ranked-documents';
export * from './validation/compat-requests';
export * from './contract/http-bodies';
