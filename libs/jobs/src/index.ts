/**
 * @rerank/jobs: the framework-free core of the job system (configuration, request validation,
 * sharding, merging, queue payloads, webhook signing), its ports (ports/: stores, workers registry)
 * and the adapters the composition roots (the apps' main.ts and app.module.ts) build: Redis stores
 * (store/) and BullMQ queues (queue/). Key names and Lua scripts stay inside the adapters: this
 * barrel does not export them, and ESLint keeps the apps from importing adapter files directly.
 */
export * from './config';
export * from './errors';
export * from './health-server';
export * from './infra-retry';
export * from './job-layout';
export * from './job-view';
export * from './logger';
export * from './merge';
export * from './queues';
export * from './redis';
export * from './results';
export * from './sharding';
export * from './webhook';
export * from './ports/job-store';
export * from './ports/document-store';
export * from './ports/quota-store';
export * from './ports/workers-registry';
export * from './ports/cancel-signals';
export * from './ports/job-event-log';
export * from './events/job-event-fold';
export { redisJobStore, type RedisJobStoreOptions } from './store/redis-job-store';
export { DEFAULT_TENANT_INDEX_MAX } from './store/redis-job-records';
export { RedisDocumentStore } from './store/redis-document-store';
export { FileDocumentStore } from './store/file-document-store';
export { documentStore } from './store/document-store';
export { RedisQuotaStore, type RateBudgets } from './store/redis-quota-store';
export { RedisWorkersRegistry } from './store/redis-workers-registry';
export { RedisCancelSignals } from './store/redis-cancel-signals';
export { RedisJobEventLog } from './store/redis-job-event-log';
export * from './ports/scoring-queue';
export * from './schedule';
export * from './queue/bull-flow';
export * from './queue/bull-scoring-queue';
export * from './queue/bull-consumers';
export * from './queue/bull-dashboard-queues';
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
