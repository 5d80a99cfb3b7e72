/**
 * A raw Server-Sent Events reader for the tests (not the typed client: the wire itself is under
 * test): one GET, the stream parsed as the HTML standard says (fields, blank-line dispatch, `id`
 * kept across events), each event with the id in force when it was dispatched.
 */
import { request } from 'node:http';

export interface ReadEvent {
  event: string;
  /** The id in force after this event (the last `id:` seen on the stream). */
  lastId: string | null;
  /** This event's own `id:` line, if it had one. */
  id: string | null;
  data: any;
}

export interface SseStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  events: ReadEvent[];
  comments: string[];
  /** Resolves when the server ends the stream (or the connection is cut). */
  ended: Promise<void>;
  /** Resolves once an event matching `test` arrived. */
  until(test: (e: ReadEvent) => boolean, timeoutMs?: number): Promise<ReadEvent>;
  close(): void;
  /** The raw body received so far. */
  raw(): string;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    // agent: false: no kept-alive socket outlives the stream.
    const req = request(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      const events: ReadEvent[] = [];
      const comments: string[] = [];
      const waiters: { test: (e: ReadEvent) => boolean; done: (e: ReadEvent) => void }[] = [];
      let buffer = '';
      let raw = '';
      let lastId: string | null = null;
      let block: { event?: string; id?: string; data: string[] } = { data: [] };
      const dispatch = () => {
        if (block.id !== undefined) lastId = block.id;
        if (block.data.length > 0) {
          const text = block.data.join('\n');
          let data: unknown = text;
          try {
            data = JSON.parse(text);
          } catch {
            /* kept as text */
          }
          const e: ReadEvent = { event: block.event ?? 'message', lastId, id: block.id ?? null, data };
          events.push(e);
          for (const w of [...waiters]) {
            if (!w.test(e)) continue;
            waiters.splice(waiters.indexOf(w), 1);
            w.done(e);
          }
        }
        block = { data: [] };
      };
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') dispatch();
          else if (line.startsWith(':')) comments.push(line);
          else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') block.event = value;
            else if (field === 'id') block.id = value;
            else if (field === 'data') block.data.push(value);
          }
        }
      });
      const ended = new Promise<void>((done) => {
        res.once('end', done);
        res.once('close', done);
        res.once('error', () => done());
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        ended,
        raw: () => raw,
        until(test, timeoutMs = 60000) {
          const found = events.find(test);
          if (found) return Promise.resolve(found);
          return new Promise((done, fail) => {
            const timer = setTimeout(
              () => fail(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(',')}`)),
              timeoutMs,
            );
            waiters.push({ test, done: (e) => (clearTimeout(timer), done(e)) });
          });
        },
        close: () => req.destroy(),
      });
    });
    req.once('error', reject);
    req.end();
  });
}

/** The best k per query a watcher holds after applying partial events (each replaces the queries it lists). */
export function applyPartials(events: readonly ReadEvent[], into = new Map<number, any[]>()): Map<number, any[]> {
  for (const e of events) if (e.event === 'partial') for (const q of e.data.results) into.set(q.query_index, q.top_k);
  return into;
}
