import type { ServerResponse } from 'node:http';
import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import type { ApiRequest } from './http';
import { RateLimitGuard } from './rate-limit.guard';
import { RerankService } from './rerank.service';

@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller()
export class RerankController {
  constructor(private readonly rerank: RerankService) {}

  @Post('v1/rerank')
  @HttpCode(200)
  v1(@Body() body: unknown, @Req() req: ApiRequest, @Res({ passthrough: true }) res: ServerResponse) {
    return this.rerank.rerank(body, 1, req.owner as string, res);
  }

  @Post('v2/rerank')
  @HttpCode(200)
  v2(@Body() body: unknown, @Req() req: ApiRequest, @Res({ passthrough: true }) res: ServerResponse) {
    return this.rerank.rerank(body, 2, req.owner as string, res);
  }
}
