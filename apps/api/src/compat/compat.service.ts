import { Inject, Injectable } from '@nestjs/common';
import { type RerankConfig, rankingScore, requestSchedule, topK, validateScoreRequest, validateTeiRerank } from '@rerank/jobs';
import { ModelsService } from '../models.service';
import { RateLimitService } from '../rate-limit.service';
import { SyncScoring } from '../sync-scoring';
import { CONFIG } from '../tokens';

/** TEI's rerank and vLLM's score API over the same synchronous scoring as /v1/rerank. */
@Injectable()
export class CompatService {
  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'limits'>,
    private readonly sync: SyncScoring,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
  ) {}

  private ctx() {
    return { limits: this.config.limits, models: this.models.known() };
  }

  /** TEI: `[{index, score, text?}]`, best first. */
  async teiRerank(body: unknown, tenant: string) {
    const req = validateTeiRerank(body, this.ctx());
    await this.rateLimits.consumePairs(tenant, req.texts.length, 'texts');
    const out = await this.sync.score({
      model: req.model,
      query: req.query,
      documents: req.texts,
      options: req.options,
      truncateLeft: req.truncateLeft,
      schedule: requestSchedule(tenant),
    });
    return topK(out.scores, req.topN).map((r) => ({
      index: r.index,
      score: rankingScore(r.score),
      ...(req.returnText ? { text: req.texts[r.index] } : {}),
    }));
  }

  /** TEI's GET /info for the first served model. */
  info() {
    const model = this.models.known()[0];
    return {
      model_id: model?.name ?? null,
      model_sha: null,
      model_dtype: 'float32',
      model_type: { reranker: { id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } } },
      max_concurrent_requests: null,
      max_input_length: model?.maxPositions ?? null,
      max_batch_tokens: null,
      max_batch_requests: null,
      max_client_batch_size: this.config.limits.syncMaxDocuments,
      tokenization_workers: null,
      version: process.env.npm_package_version ?? '0.1.0',
      sha: null,
      docker_label: null,
    };
  }

  /** vLLM: `{id, object, created, model, data: [{index, object, score}], usage}` in input order. */
  async score(body: unknown, tenant: string) {
    const req = validateScoreRequest(body, this.ctx());
    await this.rateLimits.consumePairs(tenant, req.pairs.length, 'text_2');
    // One sync request per distinct first text (one-to-many is one request).
    const groups = new Map<string, number[]>();
    req.pairs.forEach(([a], i) => groups.set(a, [...(groups.get(a) ?? []), i]));
    const scores = new Array<number>(req.pairs.length);
    let tokens = 0;
    await Promise.all(
      [...groups].map(async ([query, idx]) => {
        const out = await this.sync.score({
          model: req.model,
          query,
          documents: idx.map((i) => req.pairs[i][1]),
          options: req.options,
          schedule: requestSchedule(tenant),
        });
        idx.forEach((i, k) => (scores[i] = rankingScore(out.scores[k])));
        tokens += out.tokens;
      }),
    );
    return {
      id: `score-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
      object: 'list',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      data: scores.map((score, index) => ({ index, object: 'score', score })),
      usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0 },
    };
  }
}
