import type { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, Headers, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { RerankConfig } from '@rerank/jobs';
import { ApiKeyGuard } from './api-key.guard';
import { type ApiRequest, baseUrl, type ProxyTrust } from './http';
import { JobsService } from './jobs.service';
import { RateLimitGuard } from './rate-limit.guard';
import { CONFIG } from './tokens';
import { ErrorSchema, GuardedRouteErrors, JobRequestSchema, JobSchema, ResultsSchema } from './openapi';

@ApiTags('jobs')
@ApiBearerAuth()
@GuardedRouteErrors()
@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller('v1/jobs')
export class JobsController {
  private readonly trust: ProxyTrust;

  constructor(
    private readonly jobs: JobsService,
    @Inject(CONFIG) config: RerankConfig,
  ) {
    this.trust = config.security.trustProxy;
  }

  @Post()
  @ApiOperation({ summary: 'Submit an asynchronous rerank job', description: 'Answers 202 once the job is durably queued. The same Idempotency-Key and body give the same job (200); the same key with another body 409.' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' }, description: '1 to 255 visible ASCII characters (e.g. a UUID)' })
  @ApiBody({ schema: JobRequestSchema })
  @ApiResponse({ status: 202, description: 'Queued', schema: JobSchema })
  @ApiResponse({ status: 200, description: 'Replay of an Idempotency-Key: the existing job', schema: JobSchema })
  @ApiResponse({ status: 400, description: 'Bad input (nothing queued)', schema: ErrorSchema })
  @ApiResponse({ status: 409, description: 'Idempotency-Key used with another body', schema: ErrorSchema })
  @ApiResponse({ status: 413, description: 'A limit exceeded (names it and its variable)', schema: ErrorSchema })
  @ApiResponse({ status: 429, description: 'Rate limit or active-jobs quota of the API key (Retry-After, RateLimit-* headers)', schema: ErrorSchema })
  async create(@Body() body: unknown, @Headers('idempotency-key') key: string | undefined, @Req() req: ApiRequest, @Res({ passthrough: true }) res: ServerResponse) {
    const out = await this.jobs.create(body, req.owner as string, key, baseUrl(req, this.trust), res);
    res.statusCode = out.status;
    return out.body;
  }

  @Get(':id')
  @ApiOperation({ summary: 'Status, progress, timings, error and webhook delivery of a job' })
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 200, schema: JobSchema })
  @ApiResponse({ status: 404, description: 'No such job for this key', schema: ErrorSchema })
  get(@Param('id') id: string, @Req() req: ApiRequest) {
    return this.jobs.get(id, req.owner as string, baseUrl(req, this.trust));
  }

  @Get(':id/results')
  @ApiOperation({ summary: 'Top-k per query, best first (ties: lower index first)', description: '?all=true adds every score; large jobs stream them as JSON lines (application/x-ndjson), format=json|jsonl forces one.' })
  @ApiParam({ name: 'id' })
  @ApiQuery({ name: 'all', required: false, type: Boolean })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'jsonl'] })
  @ApiResponse({
    status: 200,
    description: 'JSON, or with ?all=true on large jobs (or format=jsonl) JSON lines: one {query_index, index, id?, score | scores} per pair',
    content: {
      'application/json': { schema: ResultsSchema },
      'application/x-ndjson': { schema: { type: 'string', description: 'One JSON object per line: {query_index, index, id?, score | scores}' } },
    },
  })
  @ApiResponse({ status: 400, description: 'A bad format', schema: ErrorSchema })
  @ApiResponse({ status: 404, description: 'No such job for this key', schema: ErrorSchema })
  @ApiResponse({ status: 409, description: 'The job has not completed', schema: ErrorSchema })
  async results(@Param('id') id: string, @Query('all') all: string | undefined, @Query('format') format: string | undefined, @Req() req: ApiRequest, @Res({ passthrough: true }) res: ServerResponse) {
    const wantAll = all === 'true' || all === '1';
    return this.jobs.results(id, req.owner as string, wantAll, format, res);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel a job: shards not started never run; the job ends cancelled (and its webhook says so)' })
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 200, schema: JobSchema })
  @ApiResponse({ status: 404, description: 'No such job for this key', schema: ErrorSchema })
  @ApiResponse({ status: 409, description: 'Already finished', schema: ErrorSchema })
  cancel(@Param('id') id: string, @Req() req: ApiRequest) {
    return this.jobs.cancel(id, req.owner as string, baseUrl(req, this.trust));
  }
}
