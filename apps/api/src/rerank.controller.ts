import type { ServerResponse } from 'node:http';
import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from './api-key.guard';
import type { ApiRequest } from './http';
import { RateLimitGuard } from './rate-limit.guard';
import { ErrorSchema, GuardedRouteErrors, RerankRequestSchema, RerankResponseSchema } from './openapi';
import { RerankService } from './rerank.service';

@ApiTags('rerank')
@ApiBearerAuth()
@GuardedRouteErrors()
@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller()
export class RerankController {
  constructor(private readonly rerank: RerankService) {}

  @Post('v1/rerank')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rerank documents for a query, synchronously (Cohere v1 / Jina shape)' })
  @ApiBody({ schema: RerankRequestSchema })
  @ApiResponse({ status: 200, schema: RerankResponseSchema })
  @ApiResponse({ status: 400, description: 'Bad input', schema: ErrorSchema })
  @ApiResponse({ status: 413, description: 'Too large for a synchronous request: use POST /v1/jobs', schema: ErrorSchema })
  v1(@Body() body: unknown, @Req() req: ApiRequest, @Res({ passthrough: true }) res: ServerResponse) {
    return this.rerank.rerank(body, 1, req.owner as string, res);
  }

  @Post('v2/rerank')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rerank documents for a query, synchronously (Cohere v2 shape)' })
  @ApiBody({ schema: RerankRequestSchema })
  @ApiResponse({ status: 200, schema: RerankResponseSchema })
  @ApiResponse({ status: 400, description: 'Bad input', schema: ErrorSchema })
  @ApiResponse({ status: 413, description: 'Too large for a synchronous request: use POST /v1/jobs', schema: ErrorSchema })
  v2(@Body() body: unknown, @Req() req: ApiRequest, @Res({ passthrough: true }) res: ServerResponse) {
    return this.rerank.rerank(body, 2, req.owner as string, res);
  }
}
