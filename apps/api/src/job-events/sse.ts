/**
 * Server-Sent Events framing (the WHATWG HTML standard's text/event-stream): an event is `id:`,
 * `event:` and `data:` lines and a blank line; a line starting with `:` is a comment (heartbeats).
 * Data here is one line of JSON, so it never needs splitting.
 */
import type { ServerResponse } from 'node:http';

/** The id of a job's final event: a reconnect that sends it back is told (204) that nothing follows. */
export const END_EVENT_ID = 'end';

/** How long a client waits before reconnecting after a cut (the stream's `retry:`). */
export const RECONNECT_MS = 2000;

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Events in order, the last one carrying `id` (none: no id line), as one chunk. */
export function sseChunk(events: readonly SseEvent[], id: string | null): string {
  return events
    .map((e, i) => `${i === events.length - 1 && id !== null ? `id: ${id}\n` : ''}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
    .join('');
}

export const HEARTBEAT = ': keep-alive\n\n';

/** The stream's head: 200 with the event-stream headers (no buffering by proxies), and the client's reconnect delay. */
export function openStream(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${RECONNECT_MS}\n\n`);
}
