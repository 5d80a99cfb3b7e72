import type { ServerResponse } from 'node:http';
import { Controller, Get, Res } from '@nestjs/common';
import { HealthService } from './health.service';
import { nestPath, ROUTES } from './routes';

@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get(nestPath(ROUTES.live))
  live() {
    return { status: 'ok' };
  }

  @Get(nestPath(ROUTES.ready))
  async ready(@Res({ passthrough: true }) res: ServerResponse) {
    const r = await this.health.ready();
    res.statusCode = r.ok ? 200 : 503;
    return r.body;
  }
}
