import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  type InfinityRerankResponse,
  rankingScore,
  type RerankConfig,
  type RerankResponse,
  requestSchedule,
  topK,
  validateRerankRequest,
} from '@rerank/jobs';
import { ModelsService } from './models.service';
import { RateLimitService } from './rate-limit.service';
import { SyncScoring } from './sync-scoring';
import { CONFIG } from './tokens';

/**
 * Synchronous reranking (Cohere v1/v2, Jina, vLLM and Infinity shapes). The API holds no model: the
 * request becomes sync jobs ahead of queued shards (sync-scoring.ts) and the API waits for their results.
 */
@Injectable()
export class RerankService {
  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'limits'>,
    private readonly sync: SyncScoring,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
  ) {}

  /** The request checked and scored: its top_n results best first, and what the model read. */
  private async ranked(body: unknown, version: 1 | 2, tenant: string) {
    const req = validateRerankRequest(body, { limits: this.config.limits, models: this.models.known() }, version);
    await this.rateLimits.consumePairs(tenant, req.documents.length, 'documents');
    const out = await this.sync.score({ ...req, schedule: requestSchedule(tenant, req.priority) });
    return { req, out, ranked: topK(out.scores, req.topN) };
  }

  /** Cohere's answer (Jina's and vLLM's too): each document returned as sent, a string as {text}. */
  async rerank(body: unknown, version: 1 | 2, tenant: string): Promise<RerankResponse> {
    const { req, out, ranked } = await this.ranked(body, version, tenant);
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
      // Jina's usage (total_tokens) and Infinity's (prompt_tokens) beside ours.
      usage: { documents: req.documents.length, search_units: searchUnits, total_tokens: out.tokens, prompt_tokens: out.tokens },
    };
  }

  /** Infinity's answer: each document returned as the text it was scored by, a plain string. */
  async infinityRerank(body: unknown, tenant: string): Promise<InfinityRerankResponse> {
    const { req, out, ranked } = await this.ranked(body, 1, tenant);
    return {
      object: 'rerank',
      id: `infinity-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      results: ranked.map((r) => ({
        index: r.index,
        relevance_score: rankingScore(r.score),
        ...(req.returnDocuments ? { document: req.documents[r.index] } : {}),
      })),
      usage: { prompt_tokens: out.tokens, total_tokens: out.tokens },
    };
  }
}
