/**
 * Graceful HTTP shutdown: counts requests in flight; `drain()` stops accepting connections, lets
 * the requests in flight finish (their keep-alive connections closed after the answer), and after
 * the drain timeout answers what is left with 503 and drops the connections.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApiError } from '@rerank/jobs';
import { sendError } from './http';

export interface DrainReport {
  /** Requests in flight when the drain began. */
  inFlight: number;
  /** Of those (and any that arrived on open connections meanwhile), how many were still unanswered at the timeout. */
  cutOff: number;
  ms: number;
}

export class HttpDrain {
  private readonly open = new Set<ServerResponse>();
  private draining = false;
  private idle: (() => void) | undefined;

  get inFlight(): number {
    return this.open.size;
  }

  /** Middleware (first in the chain): tracks each request until its response is done or its connection gone. */
  readonly track = (_req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    this.open.add(res);
    // A request that came on a kept-alive connection during the drain: served, then the connection closes.
    if (this.draining) res.setHeader('connection', 'close');
    const done = () => {
      this.open.delete(res);
      if (this.open.size === 0) this.idle?.();
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };

  drain(server: Server, timeoutMs: number): Promise<DrainReport> {
    const t = Date.now();
    this.draining = true;
    const inFlight = this.open.size;
    server.close();
    server.closeIdleConnections();
    for (const res of this.open) if (!res.headersSent) res.setHeader('connection', 'close');
    return new Promise((resolve) => {
      const finish = (cutOff: number) => {
        clearTimeout(timer);
        this.idle = undefined;
        resolve({ inFlight, cutOff, ms: Date.now() - t });
      };
      const timer = setTimeout(() => {
        const left = [...this.open];
        const e = new ApiError(
          503,
          'shutting_down',
          `the API is shutting down and could not finish this request within ${timeoutMs} ms (RERANK_DRAIN_TIMEOUT_MS); retry it`,
        );
        for (const res of left) sendError(res, e);
        server.closeAllConnections();
        finish(left.length);
      }, timeoutMs);
      this.idle = () => finish(0);
      if (this.open.size === 0) finish(0);
    });
  }
}
