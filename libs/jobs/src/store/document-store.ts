/** The DocumentStore a process uses, from RERANK_DOCUMENT_STORE (every process of a deployment must agree). */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RerankConfig } from '../config';
import type { DocumentStore } from '../ports/document-store';
import { FileDocumentStore } from './file-document-store';
import { RedisDocumentStore } from './redis-document-store';

export function documentStore(config: Pick<RerankConfig, 'data'>, redis: Redis): DocumentStore {
  return config.data.documentStore === 'files' ? new FileDocumentStore(join(config.data.dir, 'documents')) : new RedisDocumentStore(redis);
}
