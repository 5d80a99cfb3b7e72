/** A webhook receiver on localhost that records every delivery and answers as told. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as received (what the signature covers). */
  raw: Buffer;
  json: any;
  status: number;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

/** `answer(n)` gives the HTTP status of the n-th delivery (1-based). */
export function startReceiver(answer: (n: number) => number = () => 200): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const status = answer(deliveries.length + 1);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        json = undefined;
      }
      deliveries.push({ at: Date.now(), headers: req.headers, raw, json, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'not now');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}/hook`,
        deliveries,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
