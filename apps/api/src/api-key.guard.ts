import { createHash } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ApiError, type RerankConfig } from '@rerank/jobs';
import type { ApiRequest } from './http';
import { CONFIG } from './tokens';

/** Owner of what requests without keys create, when the API runs open. */
export const OPEN_OWNER = 'open';

/**
 * `Authorization: Bearer <key>` against RERANK_API_KEYS. The owner of a job is a hash of the key,
 * so a job is visible only to the key that created it. No keys configured: open (warned at start).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly owners: Map<string, { owner: string; label: string }>;

  constructor(@Inject(CONFIG) config: RerankConfig) {
    this.owners = new Map(config.apiKeys.map((k) => [k.key, { owner: createHash('sha256').update(k.key).digest('hex').slice(0, 24), label: k.label }]));
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<ApiRequest>();
    if (this.owners.size === 0) {
      req.owner = OPEN_OWNER;
      return true;
    }
    const header = req.headers.authorization;
    if (!header) throw new ApiError(401, 'unauthorized', 'missing API key: send the header "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <key>"');
    const found = this.owners.get(m[1]);
    if (!found) throw new ApiError(401, 'unauthorized', 'unknown API key; check the key you were given');
    req.owner = found.owner;
    req.ownerLabel = found.label;
    return true;
  }
}
