/**
 * The document store port: a job's input texts, by flat document index, from the moment the API
 * accepts the job until it ends. Two adapters behind the same contract tests
 * (test/store/document-store.spec.ts): Redis (store/redis-document-store.ts, the default: texts
 * beside the job) and files under RERANK_DATA_DIR (store/file-document-store.ts, for jobs whose
 * texts would crowd Redis, e.g. a 1,000,000-pair job; RERANK_DOCUMENT_STORE=files).
 */
export interface DocumentStore {
  /** Stores a job's texts in flat document order; they expire unless `keep` runs (a crash before queueing leaves nothing for good). */
  write(jobId: string, texts: readonly string[]): Promise<void>;
  /** The job is queued: its texts stay until `expire` or `remove`. */
  keep(jobId: string): Promise<void>;
  /** Texts of flat document indices, in the order asked (null where gone). */
  read(jobId: string, indices: readonly number[]): Promise<(string | null)[]>;
  /** True while the job's texts are stored. */
  has(jobId: string): Promise<boolean>;
  /** The texts go after `ttlSeconds` (a cancelled job's shards in flight may still read them meanwhile). */
  expire(jobId: string, ttlSeconds: number): Promise<void>;
  /** The texts go now (the job ended, or could not be queued). */
  remove(jobId: string): Promise<void>;
}
