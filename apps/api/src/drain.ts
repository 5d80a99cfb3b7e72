/**
 * Graceful HTTP shutdown: counts requests in flight; `drain()` stops accepting connections, lets
 * the requests in flight finish (their keep-alive connections closed after the answer), and after
 * the drain timeout answers what is left with 503. Then no connection outlives it, whatever its
 * client does: idle keep-alives, requests half sent (a request line or headers never finished: no
 * request in flight, so nothing to wait for) and clients that stop reading are closed, after at
 * most SOCKET_GRACE_MS for the last answers to leave. Outside a drain, the server's own timeouts
 * (SOCKET_TIMEOUTS) bound how long a connection may take to send a request or stay idle.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from '@rerank/jobs';
import { sendError } from './http';

export interface DrainReport {
  /** Requests in flight when the drain began. */
  inFlight: number;
  /** Of those (and any that arrived on open connections meanwhile), how many were still unanswered at the timeout. */
  cutOff: number;
  ms: number;
}

/** Node's server timeouts, set on the API's server: the headers within 20 s, the whole request within 2 min, 5 s idle between requests. */
export const SOCKET_TIMEOUTS = { headersTimeout: 20_000, requestTimeout: 120_000, keepAliveTimeout: 5_000 } as const;

/** How long the connections left at the end of a drain get to send what was written to them before they are destroyed. */
export const SOCKET_GRACE_MS = 1000;

export class HttpDrain {
  private readonly open = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
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

  /** Sets the server's timeouts and follows its connections (call before it listens). */
  attach(server: Server): void {
    Object.assign(server, SOCKET_TIMEOUTS);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Every connection still open ends: each sends what was written to it, and is destroyed after SOCKET_GRACE_MS at the latest. */
  private async closeSockets(): Promise<void> {
    if (this.sockets.size === 0) return;
    for (const socket of this.sockets) socket.destroySoon();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
        resolve();
      }, SOCKET_GRACE_MS);
      const check = () => {
        if (this.sockets.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const socket of this.sockets) socket.once('close', () => setImmediate(check));
    });
  }

  async drain(server: Server, timeoutMs: number): Promise<DrainReport> {
    const report = await this.requests(server, timeoutMs);
    await this.closeSockets();
    return report;
  }

  /** Stops accepting, and waits for the requests in flight (503 for those left at the timeout). */
  private requests(server: Server, timeoutMs: number): Promise<DrainReport> {
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
