/**
 * A webhook receiver on localhost that records every delivery and answers as told: the tests'
 * delivery checks and the bench's job timing (a job's end is when its webhook arrives, as a client
 * that registered one learns it, without polling the API).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as received (what the signature covers). */
  raw: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read any field of the payload
  json: any;
  status: number;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** The first delivery that satisfies `match` (already received or still to come). */
  delivery(match: (d: Delivery) => boolean): Promise<Delivery>;
  close(): Promise<void>;
}

/** `answer(n)` gives the HTTP status of the n-th delivery (1-based). */
export function startReceiver(answer: (n: number) => number = () => 200): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const waiting: { match: (d: Delivery) => boolean; resolve: (d: Delivery) => void }[] = [];
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
      const delivery: Delivery = { at: Date.now(), headers: req.headers, raw, json, status };
      deliveries.push(delivery);
      for (let i = waiting.length - 1; i >= 0; i--) {
        if (waiting[i].match(delivery)) waiting.splice(i, 1)[0].resolve(delivery);
      }
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
        delivery: (match) => {
          const seen = deliveries.find(match);
          return seen ? Promise.resolve(seen) : new Promise((r) => waiting.push({ match, resolve: r }));
        },
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
