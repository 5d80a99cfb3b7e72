/**
 * @rerank/client: a typed client of the rerank API (sync rerank, jobs, webhook signatures).
 * Outside this repository: `require('rerank-service/dist/libs/client/src')`.
 */
export * from './types';
export * from './errors';
export * from './client';
export * from './webhook';
export { parseJsonLines } from './ndjson';
