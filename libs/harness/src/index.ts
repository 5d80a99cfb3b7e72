/**
 * @rerank/harness: processes of the service, in one place. Shipped (`npm start` and the worker
 * launcher use it): spawning with captured or prefixed output, stopping (SIGTERM, then SIGKILL),
 * supervision with restart backoff, readiness polling, a redis-server of our own. For the tests and
 * the bench: the apps from dist/ with a clean environment, and `Cluster` (redis, API, aggregator,
 * workers) that the tests' Cluster and the bench's Stack extend.
 */
export * from './free-port';
export * from './process';
export * from './supervisor';
export * from './wait';
export * from './redis-server';
export * from './apps';
export * from './cluster';
export * from './webhook-receiver';
