/**
 * The queue dashboard: Bull Board (read-only) over the shards, aggregate and webhooks queues at
 * /admin/queues, for RERANK_ADMIN_KEYS only. No key: 401 (with a Basic challenge, so a browser asks
 * for it); an API key of RERANK_API_KEYS: 403; an admin key, as `Bearer <key>` or as the password of
 * Basic: the dashboard. Without admin keys the dashboard is not served at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Redis } from 'ioredis';
import { ApiError, type ApiKey, dashboardQueues, type RerankConfig } from '@rerank/jobs';
import { sendError } from './http';

export const DASHBOARD_PATH = '/admin/queues';

const CHALLENGE = { 'www-authenticate': 'Basic realm="rerank queue dashboard", charset="UTF-8"' };

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Keys compared by digest in constant time, every one of them (no early exit). */
export class KeySet {
  private readonly digests: Buffer[];

  constructor(keys: readonly ApiKey[]) {
    this.digests = keys.map((k) => sha256(k.key));
  }

  has(presented: string): boolean {
    const digest = sha256(presented);
    let found = false;
    for (const d of this.digests) if (timingSafeEqual(d, digest)) found = true;
    return found;
  }
}

/** 401 with the Basic challenge, or 403; null when `req` carries an admin key. */
export function dashboardRefusal(req: IncomingMessage, admin: KeySet, api: KeySet): ApiError | null {
  const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message, { headers: CHALLENGE });
  const count = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i].toLowerCase() === 'authorization').length;
  if (count > 1) return unauthorized('send exactly one Authorization header ("Authorization: Bearer <admin key>")');
  const header = req.headers.authorization;
  if (!header)
    return unauthorized(
      'the queue dashboard needs an admin key (RERANK_ADMIN_KEYS): send "Authorization: Bearer <admin key>", or sign in with it as the password',
    );
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  let key: string | undefined;
  if (bearer) key = bearer[1];
  else if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    key = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (!key) return unauthorized('the Authorization header must be "Bearer <admin key>" (or Basic with the admin key as the password)');
  if (admin.has(key)) return null;
  if (api.has(key))
    return new ApiError(403, 'forbidden', 'this API key may not open the queue dashboard; it needs one of RERANK_ADMIN_KEYS');
  return unauthorized('unknown admin key; the queue dashboard needs one of RERANK_ADMIN_KEYS');
}

/**
 * Mounts the dashboard on the API's Express instance when admin keys are configured (call before the
 * JSON body parser: the dashboard's own API reads its bodies). Returns the queues' closer, or null.
 */
export function mountQueueDashboard(app: INestApplication, config: RerankConfig, redis: Redis): { close(): Promise<void> } | null {
  if (config.api.adminKeys.length === 0) return null;
  const queues = dashboardQueues(
    redis,
    config.models.list.map((m) => m.name),
  );
  const server = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  // Read-only: removing or retrying a shard by hand would bypass the job's own bookkeeping.
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q.queue, { readOnlyMode: true, description: q.description })),
    serverAdapter: server,
    options: { uiConfig: { boardTitle: 'Rerank queues' } },
  });
  const admin = new KeySet(config.api.adminKeys);
  const api = new KeySet(config.api.keys);
  const guard = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const refusal = dashboardRefusal(req, admin, api);
    if (!refusal) return next();
    req.resume();
    sendError(res, refusal);
  };
  app.use(DASHBOARD_PATH, guard, server.getRouter());
  return { close: async () => void (await Promise.all(queues.map((q) => q.queue.close()))) };
}
