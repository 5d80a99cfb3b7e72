/**
 * A worker process: `node dist/apps/worker/src/main.js --device cpu|cuda:N`.
 * One device per process; its models (RERANK_WORKER_MODELS, default all configured) loaded once, and
 * only their queues consumed (model placement).
 */
import { parseArgs } from 'node:util';
import { deviceName, parseDevice } from '@rerank/engine';
import { hostname } from 'node:os';
import {
  consumeShards,
  createLogger,
  createRedis,
  documentStore,
  loadConfigOrExit,
  Metrics,
  RedisCancelSignals,
  RedisWorkersRegistry,
  redisJobStore,
  WORKER_METRICS,
} from '@rerank/jobs';
import { EngineScorer } from './engine-scorer';
import { ShardWorker } from './shard-worker';
import { answerMetricsRequests } from './worker-metrics';

const HELP = `usage: node dist/apps/worker/src/main.js --device cpu|cuda:N

Scores shards from the Redis queue on one device. Environment: REDIS_URL, RERANK_MODELS,
RERANK_WORKER_MODELS (the models this worker serves; default all),
RERANK_THREADS (runtime threads), RERANK_CACHE_DIR, RERANK_LOCK_DURATION_MS,
RERANK_STALLED_INTERVAL_MS, RERANK_MAX_STALLED_COUNT. SIGTERM finishes the current shard and exits.`;

async function main(): Promise<void> {
  const log = createLogger('worker');
  const { values } = parseArgs({ options: { device: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const config = loadConfigOrExit(log, { requireModels: true });
  let device: string;
  try {
    device = deviceName(parseDevice(values.device ?? config.worker.devices[0].device));
  } catch (e) {
    log.error(`--device: ${(e as Error).message}`);
    process.exit(2);
  }
  const id = `${hostname()}-${process.pid}`;
  const workerLog = createLogger('worker', { device });
  const metrics = new Metrics(WORKER_METRICS);
  const redis = createRedis(config.redis.url, { name: 'rerank-worker' });
  const cancels = new RedisCancelSignals(redis);
  const shardWorker = new ShardWorker(config, device, {
    id,
    log: workerLog,
    jobs: redisJobStore(redis, { documents: documentStore(config, redis) }),
    registry: new RedisWorkersRegistry(redis),
    scorer: new EngineScorer(config, device, workerLog, id, metrics),
    metrics,
    cancels,
    consume: (handler, admitToTenantSlot) => {
      // While Redis refuses writes every fetch fails: log the queue's errors at most every 5 s.
      let lastQueueError = 0;
      return consumeShards(config, config.worker.models, handler, {
        name: 'rerank-worker-bull',
        onError: (e) => {
          if (Date.now() - lastQueueError < 5000) return;
          lastQueueError = Date.now();
          workerLog.error(`queue: ${e.message}`);
        },
        onFailed: (what, attempts, _max, e) => workerLog.warn(`${what} failed (attempt ${attempts}): ${e.message}`),
        admitToTenantSlot,
      });
    },
  });
  // The launcher serves these on its health port (worker-metrics.ts).
  answerMetricsRequests(metrics, () => shardWorker.readBusyRatio());
  // The worker, then its Redis connection.
  const worker = {
    start: () => shardWorker.start(),
    stop: () =>
      shardWorker
        .stop()
        .finally(() => cancels.close())
        .finally(() => redis.quit().catch(() => undefined)),
  };
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      log.warn(`${sig} again: exiting now (the current shard goes back to the queue after the lock expires)`);
      process.exit(1);
    }
    log.info(`${sig} received`);
    worker.stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error(`stop: ${e.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // Under the launcher: stop when it goes away.
  process.on('disconnect', () => onSignal('disconnect'));
  try {
    await worker.start();
  } catch (e) {
    log.error(`start failed: ${(e as Error).message}`);
    await worker.stop().catch(() => undefined);
    process.exit(1);
  }
  process.send?.({ type: 'ready', device, pid: process.pid });
}

void main();
