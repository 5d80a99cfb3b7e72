import type { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, Headers, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { RerankConfig } from '@rerank/jobs';
import { ApiKeyGuard } from './api-key.guard';
import { type ApiRequest, baseUrl, type ProxyTrust } from './http';
import { JobsService } from './jobs.service';
import { RateLimitGuard } from './rate-limit.guard';
import { CONFIG } from './tokens';

@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller('v1/jobs')
export class JobsController {
  private readonly trust: ProxyTrust;

  constructor(
    private readonly jobs: JobsService,
    @Inject(CONFIG) config: Pick<RerankConfig, 'api'>,
  ) {
    this.trust = config.api.trustProxy;
  }

  @Post()
  async create(
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Req() req: ApiRequest,
    @Res({ passthrough: true }) res: ServerResponse,
  ) {
    const out = await this.jobs.create(body, req.owner as string, key, baseUrl(req, this.trust), res);
    res.statusCode = out.status;
    return out.body;
  }

  @Get()
  list(@Req() req: ApiRequest) {
    // The raw query string, not Express's parsed one: repeated and bracketed names stay visible (and refused).
    const url = req.url ?? '';
    const q = url.indexOf('?');
    return this.jobs.list(new URLSearchParams(q >= 0 ? url.slice(q + 1) : ''), req.owner as string, baseUrl(req, this.trust));
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: ApiRequest) {
    return this.jobs.get(id, req.owner as string, baseUrl(req, this.trust));
  }

  @Get(':id/results')
  async results(
    @Param('id') id: string,
    @Query('all') all: string | undefined,
    @Query('format') format: string | undefined,
    @Req() req: ApiRequest,
    @Res({ passthrough: true }) res: ServerResponse,
  ) {
    const wantAll = all === 'true' || all === '1';
    return this.jobs.results(id, req.owner as string, wantAll, format, res);
  }

  @Delete(':id')
  cancel(@Param('id') id: string, @Req() req: ApiRequest) {
    return this.jobs.cancel(id, req.owner as string, baseUrl(req, this.trust));
  }
}
