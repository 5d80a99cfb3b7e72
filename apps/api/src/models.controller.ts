import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from './api-key.guard';
import { RateLimitGuard } from './rate-limit.guard';
import { ModelsService } from './models.service';
import { GuardedRouteErrors } from './openapi';

@ApiTags('models')
@ApiBearerAuth()
@GuardedRouteErrors()
@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'Served models, their family, whether a generated test model, and the workers that have them loaded' })
  async list() {
    await this.models.refresh();
    return this.models.list();
  }
}
