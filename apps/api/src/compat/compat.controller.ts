import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { vllmRerankToCohere } from '@rerank/jobs';
import { ApiKeyGuard } from '../api-key.guard';
import type { ApiRequest } from '../http';
import { RateLimitGuard } from '../rate-limit.guard';
import { RerankService } from '../rerank.service';
import { nestPath, ROUTES } from '../routes';
import { CompatService } from './compat.service';
import { TeiError } from './tei-error';

/**
 * Routes of other rerank servers, so their clients work unchanged: TEI's `POST /rerank` and
 * `GET /info`, vLLM / Infinity's `POST /rerank`, vLLM's `POST /score` and `/v1/score`.
 * `POST /rerank` is claimed by TEI and by vLLM / Infinity: a body with `texts` is TEI's, one with
 * `documents` is theirs (Cohere-like).
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
      throw TeiError.from(e) ?? e;
    }
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
