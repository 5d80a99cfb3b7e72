/**
 * @rerank/client: a typed client of the rerank API (sync rerank, jobs, job events, webhook signatures).
 * Outside this repository: `require('rerank-service/dist/libs/client/src')`.
 */
export * from './types';
export * from './errors';
export * from './client';
export * from './webhook';
export { JobTopK } from './job-top-k';
export { parseEventStream, type StreamEvent, type StreamItem } from './event-stream';
export { parseJsonLines } from './ndjson';
