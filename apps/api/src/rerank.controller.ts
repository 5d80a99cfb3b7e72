import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import type { ApiRequest } from './http';
import { RateLimitGuard } from './rate-limit.guard';
import { RerankService } from './rerank.service';
import { nestPath, ROUTES } from './routes';

@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller()
export class RerankController {
  constructor(private readonly rerank: RerankService) {}

  @Post(nestPath(ROUTES.rerankV1))
  @HttpCode(200)
  v1(@Body() body: unknown, @Req() req: ApiRequest) {
    return this.rerank.rerank(body, 1, req.tenant as string);
  }

  @Post(nestPath(ROUTES.rerankV2))
  @HttpCode(200)
  v2(@Body() body: unknown, @Req() req: ApiRequest) {
    return this.rerank.rerank(body, 2, req.tenant as string);
  }
}
