import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedis, type RerankConfig } from '@rerank/jobs';
import { ApiKeyGuard } from './api-key.guard';
import { BackpressureService } from './backpressure';
import { CompatController } from './compat/compat.controller';
import { CompatService } from './compat/compat.service';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { QueueService } from './queue.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { RerankController } from './rerank.controller';
import { RerankService } from './rerank.service';
import { SyncScoring } from './sync-scoring';
import { CONFIG, REDIS } from './tokens';

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  static forRoot(config: RerankConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [RerankController, JobsController, ModelsController, HealthController, CompatController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: REDIS, useFactory: () => createRedis(config.redisUrl, { name: 'rerank-api', commandTimeoutMs: config.redisCommandTimeoutMs }) },
        ApiKeyGuard,
        RateLimitService,
        RateLimitGuard,
        QueueService,
        ModelsService,
        JobsService,
        RerankService,
        BackpressureService,
        CompatService,
        SyncScoring,
        HealthService,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
