/**
 * The aggregator process: `node dist/apps/aggregator/src/main.js`. Merges finished jobs, delivers
 * webhooks; /health/live, /health/ready and /metrics on HEALTH_PORT (default 8082, 0 for none).
 */
import type { Server } from 'node:http';
import {
  AGGREGATOR_METRICS,
  BullWebhookQueue,
  ClusterGauges,
  consumeAggregations,
  consumeWebhooks,
  createLogger,
  createRedis,
  documentStore,
  loadConfigOrExit,
  Metrics,
  RedisWorkersRegistry,
  redisJobStore,
  startHealthServer,
} from '@rerank/jobs';
import { Aggregator } from './aggregator';

const DEFAULT_HEALTH_PORT = 8082;

async function main(): Promise<void> {
  const log = createLogger('aggregator');
  const config = loadConfigOrExit(log);
  const redis = createRedis(config.redis.url, { name: 'rerank-aggregator' });
  const webhooks = new BullWebhookQueue(redis, config);
  const metrics = new Metrics(AGGREGATOR_METRICS);
  const gauges = new ClusterGauges(
    redis,
    metrics,
    config.models.list.map((m) => m.name),
  );
  const scrape = async () => {
    await gauges.refresh();
    return { contentType: metrics.contentType, text: await metrics.text() };
  };
  const onError = (queue: string) => (e: Error) => log.error(`${queue}: ${e.message}`);
  const documents = documentStore(config, redis);
  const service = new Aggregator(config, {
    jobs: redisJobStore(redis, { documents, secretKey: config.webhook.secretKey }),
    documents,
    registry: new RedisWorkersRegistry(redis),
    webhooks,
    log,
    metrics,
    consume: (a) => [
      consumeAggregations(
        config,
        (task) => a.aggregate(task),
        (task, e) => a.aggregationFailed(task, e),
        { name: 'rerank-aggregator-bull', onError: onError('aggregate') },
      ),
      consumeWebhooks(config, (task) => a.deliver(task), { name: 'rerank-webhooks-bull', onError: onError('webhooks') }),
    ],
  });
  // The consumers, then the webhook queue, then Redis.
  const aggregator = {
    start: () => service.start(),
    ready: () => service.ready(),
    stop: async () => {
      await service.stop();
      await webhooks.close();
      await gauges.close();
      await redis.quit().catch(() => undefined);
    },
  };
  let server: Server | undefined;
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${sig}: stopping`);
    server?.close();
    aggregator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started by the stack (IPC channel): stop when it goes away.
  if (process.send) process.on('disconnect', () => stop('parent gone'));
  const port = config.observability.healthPort ?? DEFAULT_HEALTH_PORT;
  try {
    if (port > 0)
      server = await startHealthServer(
        port,
        () => aggregator.ready(),
        (m) => log.info(m),
        scrape,
      );
    await aggregator.start();
  } catch (e) {
    log.error(`start failed: ${(e as Error).message}`);
    process.exit(1);
  }
}

void main();
