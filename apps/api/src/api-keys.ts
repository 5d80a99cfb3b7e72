import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SHARED_TENANT } from '@rerank/engine';
import { ApiError, type ApiKey } from '@rerank/jobs';
import type { ApiRequest } from './http';

export interface Caller {
  /** Its tenant, who owns what the request creates or reads: a hash of the key, or SHARED_TENANT when the API runs open. */
  tenant: string;
  label?: string;
}

interface KnownKey {
  /** SHA-256 of the key: compared in constant time, so timing tells nothing about a key's bytes. */
  digest: Buffer;
  tenant: string;
  label: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <key>` against RERANK_API_KEYS. A key's tenant is a hash of the key, so a
 * job is visible only to the key that created it. No keys configured: open (warned at start), one
 * shared tenant.
 */
export class ApiKeys {
  private readonly keys: KnownKey[];

  constructor(keys: readonly ApiKey[]) {
    this.keys = keys.map((k) => ({ digest: sha256(k.key), tenant: sha256(k.key).toString('hex').slice(0, 24), label: k.label }));
  }

  get open(): boolean {
    return this.keys.length === 0;
  }

  /** Sets `req.tenant` and `req.keyLabel` from its key, or throws a 401 saying what to send. */
  identify(req: ApiRequest): void {
    const caller = this.authenticate(req);
    req.tenant = caller.tenant;
    req.keyLabel = caller.label;
  }

  /** The caller of `req`, or a 401 saying what to send. */
  authenticate(req: IncomingMessage): Caller {
    if (this.open) return { tenant: SHARED_TENANT };
    // Node keeps only the first of repeated Authorization headers; two keys in one request are refused.
    const count = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i].toLowerCase() === 'authorization').length;
    if (count > 1) throw new ApiError(401, 'unauthorized', 'send exactly one Authorization header ("Authorization: Bearer <key>")');
    const header = req.headers.authorization;
    if (!header) throw new ApiError(401, 'unauthorized', 'missing API key: send the header "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <key>"');
    const found = this.find(m[1]);
    if (!found) throw new ApiError(401, 'unauthorized', 'unknown API key; check the key you were given');
    return { tenant: found.tenant, label: found.label };
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
}
