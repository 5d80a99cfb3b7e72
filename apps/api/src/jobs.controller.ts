import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Body, Controller, Delete, Get, Headers, Inject, Param, Post, Query, Req, Res, StreamableFile, UseGuards } from '@nestjs/common';
import type { RerankConfig } from '@rerank/jobs';
import { errorAnswer } from './api-error.filter';
import { ApiKeyGuard } from './api-key.guard';
import { type ApiRequest, baseUrl, type ProxyTrust, sendError } from './http';
import { JobWatchHub } from './job-events/job-watch-hub';
import { JobsService } from './jobs.service';
import { RateLimitGuard } from './rate-limit.guard';
import { nestPath, ROUTES } from './routes';
import { CONFIG } from './tokens';

const NDJSON = 'application/x-ndjson; charset=utf-8';

@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller()
export class JobsController {
  private readonly trust: ProxyTrust;

  constructor(
    private readonly jobs: JobsService,
    private readonly hub: JobWatchHub,
    @Inject(CONFIG) config: Pick<RerankConfig, 'api'>,
  ) {
    this.trust = config.api.trustProxy;
  }

  @Post(nestPath(ROUTES.createJob))
  async create(
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Req() req: ApiRequest,
    @Res({ passthrough: true }) res: ServerResponse,
  ) {
    const out = await this.jobs.create(body, req.tenant as string, key, baseUrl(req, this.trust));
    res.statusCode = out.status;
    return out.body;
  }

  @Get(nestPath(ROUTES.listJobs))
  list(@Req() req: ApiRequest) {
    // The raw query string, not Express's parsed one: repeated and bracketed names stay visible (and refused).
    const url = req.url ?? '';
    const q = url.indexOf('?');
    return this.jobs.list(new URLSearchParams(q >= 0 ? url.slice(q + 1) : ''), req.tenant as string, baseUrl(req, this.trust));
  }

  @Get(nestPath(ROUTES.getJob))
  get(@Param('id') id: string, @Req() req: ApiRequest) {
    return this.jobs.get(id, req.tenant as string, baseUrl(req, this.trust));
  }

  /** JSON, or every score streamed as JSON lines (with backpressure; a failure mid-stream cuts the connection). */
  @Get(nestPath(ROUTES.getJobResults))
  async results(
    @Param('id') id: string,
    @Query('all') all: string | undefined,
    @Query('format') format: string | undefined,
    @Req() req: ApiRequest,
  ) {
    const answer = await this.jobs.results(id, req.tenant as string, all === 'true' || all === '1', format);
    if (answer.kind === 'json') return answer.body;
    return new StreamableFile(Readable.from(answer.lines), { type: NDJSON }).setErrorHandler((e, res) =>
      // Express hands the StreamableFile its response: a ServerResponse.
      sendError(res as unknown as ServerResponse, errorAnswer(e, req)),
    );
  }

  /** Server-Sent Events until the job ends (job-events/job-watch-hub.ts); Last-Event-ID resumes. */
  @Get(nestPath(ROUTES.getJobEvents))
  async events(
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: ApiRequest,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const record = await this.jobs.owned(id, req.tenant as string);
    await this.hub.watch(record, res, lastEventId);
  }

  @Delete(nestPath(ROUTES.cancelJob))
  cancel(@Param('id') id: string, @Req() req: ApiRequest) {
    return this.jobs.cancel(id, req.tenant as string, baseUrl(req, this.trust));
  }
}
