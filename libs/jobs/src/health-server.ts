/**
 * /health/live and /health/ready for processes without an HTTP API (worker launcher, aggregator),
 * for Kubernetes probes. `ready` answers 200 or 503 with the details as JSON; `/metrics` answers the
 * Prometheus text exposition when a `metrics` source is given.
 */
import { createServer, type Server } from 'node:http';

export interface HealthCheck {
  ok: boolean;
  [detail: string]: unknown;
}

/** What /metrics answers: the exposition text and its content type (prom-client's registry). */
export type MetricsSource = () => Promise<{ contentType: string; text: string }>;

export function startHealthServer(
  port: number,
  ready: () => Promise<HealthCheck>,
  log: (m: string) => void = () => {},
  metrics?: MetricsSource,
): Promise<Server> {
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
    if (path === '/metrics' && metrics) {
      metrics().then(
        (m) => {
          res.writeHead(200, { 'content-type': m.contentType });
          res.end(m.text);
        },
        (e: Error) => send(503, { error: { code: 'unavailable', message: `metrics: ${e.message}` } }),
      );
      return;
    }
    send(404, { error: { code: 'not_found', message: `GET /health/live, /health/ready${metrics ? ' or /metrics' : ''}` } });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      const addr = server.address();
      log(
        `health endpoints on port ${typeof addr === 'object' && addr ? addr.port : port}: /health/live, /health/ready${metrics ? ', /metrics' : ''}`,
      );
      resolve(server);
    });
  });
}
