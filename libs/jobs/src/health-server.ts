/**
 * /health/live and /health/ready for processes without an HTTP API (worker launcher, aggregator),
 * for Kubernetes probes. `ready` answers 200 or 503 with the details as JSON.
 */
import { createServer, type Server } from 'node:http';

export interface HealthCheck {
  ok: boolean;
  [detail: string]: unknown;
}

export function startHealthServer(port: number, ready: () => Promise<HealthCheck>, log: (m: string) => void = () => {}): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: { code: 'method_not_allowed', message: 'use GET' } });
    if (path === '/health/live') return send(200, { status: 'ok' });
    if (path === '/health/ready') {
      ready().then(
        (r) => send(r.ok ? 200 : 503, { status: r.ok ? 'ok' : 'unavailable', ...r }),
        (e: Error) => send(503, { status: 'unavailable', ok: false, error: e.message }),
      );
      return;
    }
    send(404, { error: { code: 'not_found', message: 'GET /health/live or /health/ready' } });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      const addr = server.address();
      log(`health endpoints on port ${typeof addr === 'object' && addr ? addr.port : port}: /health/live, /health/ready`);
      resolve(server);
    });
  });
}
