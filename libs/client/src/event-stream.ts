/**
 * A text/event-stream parser (the WHATWG HTML standard's "interpreting an event stream"): lines end
 * in CRLF, LF or CR; `event`, `data`, `id` and `retry` fields; a line starting with `:` is a comment
 * and is skipped; a blank line dispatches the event gathered so far (none when it has no data).
 */

export interface StreamEvent {
  /** `message` when the server named none. */
  event: string;
  /** The event's own `id:` line (null when it had none; the id in force is the last one seen). */
  id: string | null;
  /** The `data:` lines joined with a line feed. */
  data: string;
}

/**
 * An event; a `retry:` field (the reconnect delay in ms the server asks for); or the `id:` of a block
 * without data (no event, but the id in force changes).
 */
export type StreamItem = { kind: 'event'; event: StreamEvent } | { kind: 'retry'; ms: number } | { kind: 'id'; id: string };

export async function* parseEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamItem> {
  // TextDecoder drops a leading byte order mark, as the standard asks.
  const decoder = new TextDecoder();
  let pending = '';
  let name = '';
  let id: string | null = null;
  let data: string[] = [];

  function* line(text: string): Generator<StreamItem> {
    if (text === '') {
      if (data.length > 0) yield { kind: 'event', event: { event: name || 'message', id, data: data.join('\n') } };
      else if (id !== null) yield { kind: 'id', id };
      name = '';
      id = null;
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(colon + (text[colon + 1] === ' ' ? 2 : 1));
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) yield { kind: 'retry', ms: Number(value) };
  }

  function* lines(final: boolean): Generator<StreamItem> {
    for (;;) {
      const end = /\r\n|\r|\n/.exec(pending);
      // A CR at the end of what has arrived may be the first half of a CRLF.
      if (!end || (!final && end[0] === '\r' && end.index === pending.length - 1)) return;
      const text = pending.slice(0, end.index);
      pending = pending.slice(end.index + end[0].length);
      yield* line(text);
    }
  }

  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    yield* lines(false);
  }
  pending += decoder.decode();
  // An event without its closing blank line is incomplete: the standard discards it.
  yield* lines(true);
}
