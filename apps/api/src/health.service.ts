import { Inject, Injectable } from '@nestjs/common';
import type { RerankConfig, StoreConnection } from '@rerank/jobs';
import { ModelsService } from './models.service';
import { CONFIG, JOB_STORE } from './tokens';

/**
 * Ready: Redis answers and, with RERANK_REFUSE_UNSERVED=all (the default), some configured model is
 * loaded on a live worker. Placement answers 503 per model, so one model's workers being down does
 * not take the API (and the models that are served) out of its Service. With sync or none, jobs
 * queue for a model without workers (scale from zero): the API is ready while Redis answers.
 */
@Injectable()
export class HealthService {
  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    @Inject(JOB_STORE) private readonly jobs: Pick<StoreConnection, 'ping'>,
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
    const names = this.config.models.list.map((m) => m.name);
    const ready = workers.filter((w) => w.state === 'ready');
    const servedBy = (n: string) => ready.filter((w) => w.models.some((m) => m.name === n)).length;
    const serving = ready.filter((w) => w.models.some((m) => names.includes(m.name)));
    const needsWorker = this.config.api.refuseUnserved === 'all';
    const ok = redis === 'ok' && names.length > 0 && (!needsWorker || names.some((n) => servedBy(n) > 0));
    return {
      ok,
      body: {
        status: ok ? 'ok' : 'unavailable',
        redis,
        workers: { live: workers.length, ready: serving.length },
        models: Object.fromEntries(names.map((n) => [n, servedBy(n)])),
        ...(ok
          ? {}
          : {
              reason:
                redis !== 'ok'
                  ? 'Redis is not reachable (REDIS_URL)'
                  : `no live worker serves any of ${names.join(', ')} yet (start workers: node dist/apps/worker/src/launcher.js, RERANK_WORKER_MODELS)`,
            }),
      },
    };
  }
}
