import type { ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { ApiRequest } from './http';
import { RateLimitService } from './rate-limit.service';

/** Requests per minute per tenant; runs after ApiKeyGuard (which sets the tenant); writes the RateLimit-* headers. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimitService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<ApiRequest>();
    const headers = await this.limits.request(req.tenant as string);
    const res = http.getResponse<ServerResponse>();
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    return true;
  }
}
