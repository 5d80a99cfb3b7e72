import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ApiError, type RerankConfig } from '@rerank/jobs';
import type { ApiRequest } from './http';
import { CONFIG } from './tokens';

/** Owner of what requests without keys create, when the API runs open. */
export const OPEN_OWNER = 'open';

interface KnownKey {
  /** SHA-256 of the key: compared in constant time, so timing tells nothing about a key's bytes. */
  digest: Buffer;
  owner: string;
  label: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <key>` against RERANK_API_KEYS. The owner of a job is a hash of the key,
 * so a job is visible only to the key that created it. No keys configured: open (warned at start).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: KnownKey[];

  constructor(@Inject(CONFIG) config: RerankConfig) {
    this.keys = config.apiKeys.map((k) => ({ digest: sha256(k.key), owner: sha256(k.key).toString('hex').slice(0, 24), label: k.label }));
  }

  /** The key's entry; every configured key is compared (no early exit), each in constant time. */
  private find(presented: string): KnownKey | undefined {
    const digest = sha256(presented);
    let found: KnownKey | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(k.digest, digest)) found = k;
    }
    return found;
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<ApiRequest>();
    if (this.keys.length === 0) {
      req.owner = OPEN_OWNER;
      return true;
    }
    const header = req.headers.authorization;
    if (!header) throw new ApiError(401, 'unauthorized', 'missing API key: send the header "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <key>"');
    const found = this.find(m[1]);
    if (!found) throw new ApiError(401, 'unauthorized', 'unknown API key; check the key you were given');
    req.owner = found.owner;
    req.ownerLabel = found.label;
    return true;
  }
}
