import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import { RateLimitGuard } from './rate-limit.guard';
import { ModelsService } from './models.service';
import { nestPath, ROUTES } from './routes';

@UseGuards(ApiKeyGuard, RateLimitGuard)
@Controller()
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get(nestPath(ROUTES.listModels))
  async list() {
    await this.models.refresh();
    return this.models.list();
  }
}
