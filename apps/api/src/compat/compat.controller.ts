import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { vllmRerankToCohere } from '@rerank/jobs';
import { ApiKeyGuard } from '../api-key.guard';
import { storeRefusal } from '../backpressure';
import type { ApiRequest } from '../http';
import { RateLimitGuard } from '../rate-limit.guard';
import { RerankService } from '../rerank.service';
import { nestPath, ROUTES } from '../routes';
import { CompatService } from './compat.service';
import { TeiError } from './tei-error';

/**
 * Routes of other rerank servers, so their clients work unchanged: TEI's `POST /rerank` and
 * `GET /info`, vLLM's `POST /rerank`, Infinity's under `/infinity` (`POST /infinity/rerank`: the
 * same body as vLLM's, whose answer differs), vLLM's `POST /score` and `/v1/score`.
 * `POST /rerank` is claimed by TEI and by vLLM: a body with `texts` is TEI's, one with
 * `documents` is vLLM's (Cohere-like).
 */
@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller()
export class CompatController {
  constructor(
    private readonly compat: CompatService,
    private readonly rerank: RerankService,
  ) {}

  @Post(nestPath(ROUTES.rerankCompat))
  @HttpCode(200)
  async rerankAny(@Body() body: unknown, @Req() req: ApiRequest) {
    const isTei = body !== null && typeof body === 'object' && !Array.isArray(body) && 'texts' in body && !('documents' in body);
    if (!isTei) return this.rerank.rerank(vllmRerankToCohere(body), 1, req.tenant as string);
    try {
      return await this.compat.teiRerank(body, req.tenant as string);
    } catch (e) {
      throw TeiError.from(storeRefusal(e, 'unavailable') ?? e) ?? e;
    }
  }

  /** Infinity's POST /rerank (the vLLM body; each document answered as a plain string). */
  @Post(nestPath(ROUTES.rerankInfinity))
  @HttpCode(200)
  infinity(@Body() body: unknown, @Req() req: ApiRequest) {
    return this.rerank.infinityRerank(vllmRerankToCohere(body), req.tenant as string);
  }

  @Get(nestPath(ROUTES.teiInfo))
  info() {
    return this.compat.info();
  }

  @Post(nestPath(ROUTES.score))
  @HttpCode(200)
  score(@Body() body: unknown, @Req() req: ApiRequest) {
    return this.compat.score(body, req.tenant as string);
  }

  @Post(nestPath(ROUTES.scoreV1))
  @HttpCode(200)
  scoreV1(@Body() body: unknown, @Req() req: ApiRequest) {
    return this.compat.score(body, req.tenant as string);
  }
}
