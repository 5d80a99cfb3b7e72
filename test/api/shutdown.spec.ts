/**
 * Bounded shutdown (issue 21, item 2): a SIGTERMed API exits within RERANK_DRAIN_TIMEOUT_MS plus a
 * small grace whatever its sockets do: an idle keep-alive connection, half a request line, half the
 * headers, half a body, and a client that stops reading a response. Raw sockets (node:net) against
 * the real API process.
 */
import { connect, type Socket } from 'node:net';
import { Cluster } from '../support/cluster';
import { removeTestModels, testEncoderDir } from '../support/model';
import { waitFor } from '../support/processes';

jest.setTimeout(120000);

const DRAIN_MS = 2000;
/** What the process may take past the drain timeout: closing its connections, queues and Redis. */
const GRACE_MS = 3000;

let cluster: Cluster | undefined;
const sockets: Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await cluster?.stop();
  removeTestModels();
});

/** A connection to the API that has sent `bytes` and reads nothing unless `read`; what it received is counted. */
async function open(port: number, bytes: string, read = true): Promise<{ socket: Socket; received: () => number }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = 0;
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  if (read) socket.on('data', (c: Buffer) => (received += c.length));
  else socket.pause();
  socket.write(bytes);
  return { socket, received: () => received };
}

/** SIGTERM to the API: its exit code (or "still running" well past the bound) and how long it took. */
async function sigterm(c: Cluster): Promise<{ code: number | null | 'still running'; took: number }> {
  const api = c.api;
  expect(api.running()).toBe(true);
  const t = Date.now();
  api.proc.kill('SIGTERM');
  const code = await Promise.race([
    api.exited,
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), DRAIN_MS + GRACE_MS + 5000)),
  ]);
  return { code, took: Date.now() - t };
}

let port: number;
let host: string;

beforeAll(async () => {
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: await testEncoderDir() }],
    // No workers: nothing here is scored.
    env: { RERANK_DRAIN_TIMEOUT_MS: String(DRAIN_MS) },
  });
  port = Number(new URL(cluster.base).port);
  host = `Host: 127.0.0.1:${port}\r\n`;
});

it('no request in flight: an idle keep-alive, half a request line and half the headers do not hold the exit', async () => {
  const c = cluster!;
  const idle = await open(port, `GET /health/live HTTP/1.1\r\n${host}\r\n`);
  await waitFor('the keep-alive answer', () => (idle.received() > 0 ? true : undefined), 10000);
  await open(port, 'GET /v1/mod');
  await open(port, `GET /v1/models HTTP/1.1\r\n${host}X-Half: `);
  const { code, took } = await sigterm(c);
  expect(code).toBe(0);
  expect(took).toBeLessThan(DRAIN_MS + GRACE_MS);
  expect(c.api.output()).toMatch(/SIGTERM: no new connections; 0 request\(s\) in flight/);
});

it('requests in flight: half a body and a client that stops reading are cut at the drain timeout, and the API exits', async () => {
  const c = cluster!;
  await c.restartApi();
  await open(port, `POST /v1/rerank HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query": "q", `);
  // Large answers asked for (pipelined) and never read: the server's writes back up.
  const slow = await open(port, `GET /openapi.json HTTP/1.1\r\n${host}\r\n`.repeat(400), false);
  await new Promise((r) => setTimeout(r, 1000));
  expect(slow.socket.destroyed).toBe(false);
  const { code, took } = await sigterm(c);
  expect(code).toBe(0);
  expect(took).toBeGreaterThanOrEqual(DRAIN_MS);
  expect(took).toBeLessThan(DRAIN_MS + GRACE_MS);
  expect(c.api.output()).toMatch(/request\(s\) unfinished at the timeout got 503/);
});
