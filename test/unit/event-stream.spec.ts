/**
 * The client's text/event-stream parser against the framing the HTML standard allows (what a proxy
 * or another server may send, not only what ours writes): line ends, chunks split anywhere, comments,
 * multi-line data, retry, ids, and an unterminated last event.
 */
import { parseEventStream, type StreamItem } from '@rerank/client';

async function parse(chunks: readonly string[]): Promise<StreamItem[]> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const c of chunks) yield encoder.encode(c);
  }
  const out: StreamItem[] = [];
  for await (const item of parseEventStream(body())) out.push(item);
  return out;
}

/** Every way of cutting `text` in two. */
const splits = (text: string) => Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);

describe('parseEventStream', () => {
  const wire =
    '\ufeffretry: 2000\n\n: keep-alive\n\nevent: progress\ndata: {"a":1}\n\nid: 17-0\nevent: partial\ndata: {"b":\ndata: 2}\n\n' +
    'data: plain\n\nid: end\nevent: completed\ndata:{"c":3}\n\n';
  const expected: StreamItem[] = [
    { kind: 'retry', ms: 2000 },
    { kind: 'event', event: { event: 'progress', id: null, data: '{"a":1}' } },
    { kind: 'event', event: { event: 'partial', id: '17-0', data: '{"b":\n2}' } },
    { kind: 'event', event: { event: 'message', id: null, data: 'plain' } },
    { kind: 'event', event: { event: 'completed', id: 'end', data: '{"c":3}' } },
  ];

  it('reads fields, skips comments, joins data lines, and gives the same events however the bytes are split', async () => {
    expect(await parse([wire])).toEqual(expected);
    for (const parts of splits(wire)) expect(await parse(parts)).toEqual(expected);
    expect(await parse([...wire])).toEqual(expected);
  });

  it('takes CRLF and CR line ends, a CRLF split between chunks included', async () => {
    for (const eol of ['\r\n', '\r']) {
      const text = wire.replaceAll('\n', eol);
      expect(await parse([text])).toEqual(expected);
      for (const parts of splits(text)) expect(await parse(parts)).toEqual(expected);
    }
  });

  it('splits a multi-byte character between chunks correctly', async () => {
    const bytes = new TextEncoder().encode('data: {"q":"café ☕"}\n\n');
    async function* body() {
      for (const b of bytes) yield new Uint8Array([b]);
    }
    const out: StreamItem[] = [];
    for await (const item of parseEventStream(body())) out.push(item);
    expect(out).toEqual([{ kind: 'event', event: { event: 'message', id: null, data: '{"q":"café ☕"}' } }]);
  });

  it('gives the id of a block without data; drops an event cut before its blank line, an id holding NUL, a retry not in digits', async () => {
    expect(await parse(['event: x\nid: 1-0\n\nevent: y\n\nretry: soon\nid: a\0b\ndata: kept\n\nevent: progress\ndata: {"a":1}\n'])).toEqual(
      [
        { kind: 'id', id: '1-0' },
        { kind: 'event', event: { event: 'message', id: null, data: 'kept' } },
      ],
    );
  });
});
