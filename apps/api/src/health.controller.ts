import type { ServerResponse } from 'node:http';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Redis reachable and at least one worker has the models loaded (503 otherwise)' })
  async ready(@Res({ passthrough: true }) res: ServerResponse) {
    const r = await this.health.ready();
    res.statusCode = r.ok ? 200 : 503;
    return r.body;
  }
}
