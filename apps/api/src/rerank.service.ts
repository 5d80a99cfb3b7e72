import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { rankingScore, type RerankConfig, requestSchedule, topK, validateRerankRequest } from '@rerank/jobs';
import { ModelsService } from './models.service';
import { RateLimitService } from './rate-limit.service';
import { SyncScoring } from './sync-scoring';
import { CONFIG } from './tokens';

/**
 * Synchronous reranking (Cohere v1/v2, Jina shapes). The API holds no model: the request becomes
 * sync jobs ahead of queued shards (sync-scoring.ts) and the API waits for their results.
 */
@Injectable()
export class RerankService {
  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'limits'>,
    private readonly sync: SyncScoring,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
  ) {}

  async rerank(body: unknown, version: 1 | 2, tenant: string) {
    const req = validateRerankRequest(body, { limits: this.config.limits, models: this.models.known() }, version);
    await this.rateLimits.consumePairs(tenant, req.documents.length, 'documents');
    const out = await this.sync.score({ ...req, schedule: requestSchedule(tenant, req.priority) });
    const ranked = topK(out.scores, req.topN);
    // Cohere bills a search unit per 100 documents (each chunk of a long document counts).
    const searchUnits = Math.max(1, Math.ceil(out.pairs / 100));
    return {
      id: randomUUID(),
      results: ranked.map((r) => ({
        index: r.index,
        relevance_score: rankingScore(r.score),
        ...(req.returnDocuments ? { document: req.originals[r.index] } : {}),
      })),
      meta: { api_version: { version: String(version) }, billed_units: { search_units: searchUnits } },
      model: req.model,
      // Jina's usage (total_tokens) beside ours.
      usage: { documents: req.documents.length, search_units: searchUnits, total_tokens: out.tokens },
    };
  }
}
