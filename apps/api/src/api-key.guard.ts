import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { RerankConfig } from '@rerank/jobs';
import { ApiKeys } from './api-keys';
import type { ApiRequest } from './http';
import { CONFIG } from './tokens';

/** Routes behind API keys: sets `req.tenant` (and `keyLabel`) or answers 401 (see ApiKeys). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeys;

  constructor(@Inject(CONFIG) config: Pick<RerankConfig, 'api'>) {
    this.keys = new ApiKeys(config.api.keys);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<ApiRequest>();
    this.keys.identify(req);
    return true;
  }
}
