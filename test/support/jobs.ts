/** A job as the validation makes it, for tests of the stores and services: one query against one document. */
import type { JobStore, NormalizedJob } from '@rerank/jobs';

export function oneDocumentJob(): NormalizedJob {
  return {
    model: 'enc',
    family: 'encoder',
    queries: [{ id: null, text: 'q', set: 0 }],
    sets: [{ offset: 0, count: 1 }],
    documents: ['d'],
    documentIds: null,
    pairs: 1,
    topK: 1,
    returnDocuments: false,
    options: {},
    webhook: null,
    metadata: null,
    priority: 0,
  };
}

/** Stores `oneDocumentJob()` as job `id` of `tenant` (the record only: no texts). */
export async function storeOneDocumentJob(jobs: JobStore, id: string, tenant: string, createdAt = 1): Promise<void> {
  await jobs.create({ id, tenant, createdAt, job: oneDocumentJob(), shardsTotal: 1, baseUrl: 'http://api', requestHash: 'h' });
}
