import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import { RateLimitGuard } from './rate-limit.guard';
import { ModelsService } from './models.service';

@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  async list() {
    await this.models.refresh();
    return this.models.list();
  }
}
