/**
 * HTTP/1.1 over a plain socket, byte for byte: what fetch refuses to send (unnormalized paths such as
 * "/../", lying or malformed Content-Length, control characters in headers, raw non-ASCII bytes).
 * One request per connection (Connection: close); the answer is read until the server closes.
 */
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** Sent as is on the request line (no normalization, no encoding). */
  path: string;
  /** Header lines in order; a value may be a list (the header repeated). Values are sent as latin1 bytes. */
  headers: [string, string][];
  body?: Buffer;
}

export interface RawReply {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or undefined. */
  json: any;
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export function parseReply(raw: Buffer): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, text: raw.toString('utf8'), json: undefined };
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/**
 * Sends the request and reads the answer. `halfClose`: end our side after writing (a body shorter than
 * its Content-Length then reaches the server as a truncated request).
 */
export function rawRequest(port: number, req: RawRequest, options: { timeoutMs?: number; halfClose?: boolean } = {}): Promise<RawReply> {
  const head = `${req.method} ${req.path} HTTP/1.1\r\n${req.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const bytes = Buffer.concat([Buffer.from(head, 'latin1'), req.body ?? Buffer.alloc(0)]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${req.method} ${req.path.slice(0, 100)} within ${options.timeoutMs ?? 20000} ms`));
    }, options.timeoutMs ?? 20000);
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.halfClose) socket.end();
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after a complete answer is still an answer; a reset before any byte is status 0.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseReply(Buffer.concat(chunks)));
    });
  });
}
