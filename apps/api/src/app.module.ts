import { type DynamicModule, Inject, Module, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { LoggerModule } from 'nestjs-pino';
import {
  API_METRICS,
  BullScoringQueue,
  ClusterGauges,
  createRedis,
  type DocumentStore,
  documentStore,
  Metrics,
  RedisQuotaStore,
  RedisCancelSignals,
  RedisJobEventLog,
  RedisWorkersRegistry,
  redisJobStore,
  type RerankConfig,
  rootLogger,
  type ScoringQueue,
} from '@rerank/jobs';
import { ApiKeyGuard } from './api-key.guard';
import { BackpressureService } from './backpressure';
import { CompatController } from './compat/compat.controller';
import { CompatService } from './compat/compat.service';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { JobWatchHub } from './job-events/job-watch-hub';
import { JobPageController } from './job-page.controller';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { RerankController } from './rerank.controller';
import { RerankService } from './rerank.service';
import { SyncScoring } from './sync-scoring';
import {
  CANCEL_SIGNALS,
  CLUSTER_GAUGES,
  CONFIG,
  DOCUMENT_STORE,
  JOB_EVENT_LOG,
  JOB_STORE,
  METRICS,
  QUOTA_STORE,
  REDIS,
  SCORING_QUEUE,
  WORKERS_REGISTRY,
} from './tokens';

/**
 * The API's composition root: controllers over services; the services get the stores (jobs,
 * documents, quotas), the scoring queue (BullMQ) and the workers registry as providers, never build them.
 *
 * Queues are not registered through @nestjs/bullmq: the same BullMQ adapters (libs/jobs/src/queue)
 * serve the worker and the aggregator, which are not Nest apps, and the API only produces.
 */
@Module({})
export class AppModule implements OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(SCORING_QUEUE) private readonly queue: ScoringQueue,
    @Inject(CLUSTER_GAUGES) private readonly gauges: ClusterGauges,
  ) {}

  static forRoot(config: RerankConfig): DynamicModule {
    return {
      module: AppModule,
      // Nest's own log lines through pino (main.ts: app.useLogger); the access line is observability.ts's,
      // which also sees answers sent before Nest routes a request, so pino-http logs nothing itself.
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger: rootLogger().child({ component: 'api' }),
            autoLogging: false,
            quietReqLogger: true,
            genReqId: (req) => (req as { id?: string }).id ?? randomUUID(),
          },
        }),
      ],
      controllers: [RerankController, JobsController, JobPageController, ModelsController, HealthController, CompatController],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: REDIS,
          useFactory: () => createRedis(config.redis.url, { name: 'rerank-api', commandTimeoutMs: config.redis.commandTimeoutMs }),
        },
        ApiKeyGuard,
        RateLimitService,
        RateLimitGuard,
        { provide: DOCUMENT_STORE, useFactory: (redis: Redis) => documentStore(config, redis), inject: [REDIS] },
        {
          provide: JOB_STORE,
          useFactory: (redis: Redis, documents: DocumentStore) =>
            redisJobStore(redis, { documents, secretKey: config.webhook.secretKey, tenantIndexMax: config.jobs.listMax }),
          inject: [REDIS, DOCUMENT_STORE],
        },
        { provide: QUOTA_STORE, useFactory: (redis: Redis) => new RedisQuotaStore(redis, config.rateLimits), inject: [REDIS] },
        {
          provide: SCORING_QUEUE,
          useFactory: (redis: Redis, models: ModelsService) =>
            new BullScoringQueue(redis, config, { creditChars: (model) => models.creditChars(model) }),
          inject: [REDIS, ModelsService],
        },
        { provide: WORKERS_REGISTRY, useFactory: (redis: Redis) => new RedisWorkersRegistry(redis), inject: [REDIS] },
        { provide: CANCEL_SIGNALS, useFactory: (redis: Redis) => new RedisCancelSignals(redis), inject: [REDIS] },
        { provide: JOB_EVENT_LOG, useFactory: (redis: Redis) => new RedisJobEventLog(redis), inject: [REDIS] },
        { provide: METRICS, useValue: new Metrics([...API_METRICS, 'rerank_job_duration_seconds']) },
        {
          provide: CLUSTER_GAUGES,
          useFactory: (redis: Redis, metrics: Metrics) =>
            new ClusterGauges(
              redis,
              metrics,
              config.models.list.map((m) => m.name),
            ),
          inject: [REDIS, METRICS],
        },
        ModelsService,
        JobsService,
        JobWatchHub,
        RerankService,
        BackpressureService,
        CompatService,
        SyncScoring,
        HealthService,
      ],
    };
  }

  /** Queue listeners first (the HTTP server is drained by then), Redis last. */
  async onModuleDestroy(): Promise<void> {
    await this.queue.close();
    await this.gauges.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
