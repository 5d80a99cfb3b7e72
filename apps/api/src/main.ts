/**
 * The HTTP API: `node dist/apps/api/src/main.js [--host ADDRESS]` (PORT, default 3000; RERANK_HOST,
 * default 127.0.0.1 while it has no API keys, every interface with them). Validates, queues and reads;
 * holds no model (workers score everything, synchronous requests included). On SIGTERM it stops
 * accepting, lets requests in flight finish (up to RERANK_DRAIN_TIMEOUT_MS), and only then closes its
 * queue listeners and Redis: synchronous requests still get their scores.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import {
  type ClusterGauges,
  createLogger,
  describeBound,
  describeConfig,
  isLoopbackHost,
  loadConfigOrExit,
  type Metrics,
} from '@rerank/jobs';
import { ApiErrorFilter } from './api-error.filter';
import { ApiKeys } from './api-keys';
import { AppModule } from './app.module';
import { HttpDrain } from './drain';
import { JobWatchHub } from './job-events/job-watch-hub';
import { beforeBody, bodyParserErrors, jsonBodyOptions } from './http';
import { expressRouteTemplates, observability, rebindRequestContext } from './observability';
import { setupOpenApi } from './openapi';
import { mountQueueDashboard } from './queue-dashboard';
import { CLUSTER_GAUGES, METRICS, REDIS } from './tokens';

async function main(): Promise<void> {
  const log = createLogger('api');
  const { values: args } = parseArgs({ options: { host: { type: 'string' } } });
  const config = loadConfigOrExit(log, { requireModels: true });
  const host = args.host ?? config.api.host;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  const express = app.getHttpAdapter().getInstance() as { router?: unknown; _router?: unknown };
  app.use(
    observability({
      log: createLogger('api', { access: true }),
      metrics: app.get<Metrics>(METRICS),
      gauges: app.get<ClusterGauges>(CLUSTER_GAUGES),
      routeOf: expressRouteTemplates(() => express.router ?? express._router),
    }),
  );
  const drain = new HttpDrain();
  drain.attach(app.getHttpServer());
  app.use(drain.track);
  // Before the body parser, which knows only API keys: the dashboard checks admin keys itself.
  const dashboard = mountQueueDashboard(app, config, app.get(REDIS));
  const keys = new ApiKeys(config.api.keys);
  const limit = config.limits.maxBodyBytes;
  app.use(beforeBody(limit, (req) => keys.identify(req)));
  app.useBodyParser('json', jsonBodyOptions(limit));
  app.use(bodyParserErrors(limit));
  app.use(rebindRequestContext);
  app.useGlobalFilters(new ApiErrorFilter());
  setupOpenApi(app);
  if (config.api.keys.length === 0 && host !== undefined && isLoopbackHost(host)) {
    log.warn(
      `RERANK_API_KEYS is not set: the API is open, so it listens on ${host} only (this machine). RERANK_HOST=0.0.0.0 or --host 0.0.0.0 opens it to other machines, and then anyone who can reach port ${config.api.port} can submit and read jobs: set RERANK_API_KEYS first (docs/security.md)`,
    );
  } else if (config.api.keys.length === 0) {
    log.warn(
      `RERANK_API_KEYS is not set and the API listens on ${host ?? 'every interface'}: it is OPEN, anyone who can reach port ${config.api.port} can submit and read jobs (docs/security.md)`,
    );
  }
  if (!config.webhook.secretKey)
    log.warn('RERANK_SECRET_KEY is not set: webhook secrets are stored in plain text in Redis (docs/security.md)');

  // Not Nest's enableShutdownHooks: its close() runs the destroy hooks (queue listeners) before it
  // closes the HTTP server, which left synchronous requests in flight without their answers.
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) {
      log.warn(`${why} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(
      `${why}: no new connections; ${drain.inFlight} request(s) in flight get up to ${config.api.drainTimeoutMs} ms (RERANK_DRAIN_TIMEOUT_MS)`,
    );
    // Event streams never finish on their own: they end now, and their clients resume elsewhere with Last-Event-ID.
    await app.get(JobWatchHub).close();
    const r = await drain.drain(app.getHttpServer(), config.api.drainTimeoutMs);
    log.info(
      `drained in ${r.ms} ms${r.cutOff ? `; ${r.cutOff} request(s) unfinished at the timeout got 503` : ''}; closing queues and Redis`,
    );
    await dashboard?.close().catch((e: Error) => log.error(`dashboard queues: ${e.message}`));
    await app.close().catch((e: Error) => log.error(`close: ${e.message}`));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Started by the stack (IPC channel): stop when it goes away.
  if (process.send) process.on('disconnect', () => void stop('parent gone'));
  await (host === undefined ? app.listen(config.api.port) : app.listen(config.api.port, host));
  const bound = app.getHttpServer().address() as AddressInfo;
  new Logger('api').log(
    `listening on ${describeBound(bound)}; docs at /docs, OpenAPI at /openapi.json; config ${JSON.stringify(describeConfig(config))}`,
  );
}

void main().catch((e: Error) => {
  createLogger('api').error(`api failed to start: ${e.stack ?? e.message}`);
  process.exit(1);
});
