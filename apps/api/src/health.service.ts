import { Inject, Injectable } from '@nestjs/common';
import type { JobRepository, RerankConfig } from '@rerank/jobs';
import { ModelsService } from './models.service';
import { CONFIG, JOB_REPOSITORY } from './tokens';

/** Ready: Redis answers and at least one live worker has every configured model loaded. */
@Injectable()
export class HealthService {
  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    @Inject(JOB_REPOSITORY) private readonly jobs: Pick<JobRepository, 'ping'>,
    private readonly models: ModelsService,
  ) {}

  async ready() {
    let redis = 'ok';
    try {
      await this.jobs.ping();
    } catch (e) {
      redis = `unreachable: ${(e as Error).message}`;
    }
    const workers = redis === 'ok' ? await this.models.refresh() : [];
    const names = this.config.models.map((m) => m.name);
    const serving = workers.filter((w) => w.state === 'ready' && names.every((n) => w.models.some((m) => m.name === n)));
    const ok = redis === 'ok' && serving.length > 0;
    return {
      ok,
      body: {
        status: ok ? 'ok' : 'unavailable',
        redis,
        workers: { live: workers.length, ready: serving.length },
        models: Object.fromEntries(names.map((n) => [n, workers.filter((w) => w.state === 'ready' && w.models.some((m) => m.name === n)).length])),
        ...(ok ? {} : { reason: redis !== 'ok' ? 'Redis is not reachable (REDIS_URL)' : 'no worker has the models loaded yet (start workers: node dist/apps/worker/src/launcher.js)' }),
      },
    };
  }
}
