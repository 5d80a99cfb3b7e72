import type { ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { ApiRequest } from './http';
import { RateLimitService } from './rate-limit.service';

/** Requests per minute per owner; runs after ApiKeyGuard (which sets the owner). */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimitService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<ApiRequest>();
    await this.limits.request(req.owner ?? 'open', http.getResponse<ServerResponse>());
    return true;
  }
}
