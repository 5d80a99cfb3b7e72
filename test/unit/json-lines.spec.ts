import { Readable } from 'node:stream';
import { jsonLines } from '../../apps/cli/src/read-pairs';

const linesOf = async (chunks: (string | Buffer)[]) => {
  const out: string[] = [];
  for await (const line of jsonLines(Readable.from(chunks, { objectMode: true }))) out.push(line);
  return out;
};

describe('the CLI reads JSON Lines', () => {
  it('ends lines at "\\n" only: U+2028, U+2029, NEL and a lone "\\r" stay inside the text', async () => {
    const pair = JSON.stringify({ query: 'a\u2028b', passage: 'c\u2029d\u0085e\rf' });
    expect(JSON.parse((await linesOf([`${pair}\n{"x":1}\r\n`]))[0])).toEqual({ query: 'a\u2028b', passage: 'c\u2029d\u0085e\rf' });
    expect(await linesOf([`${pair}\n{"x":1}\r\n`])).toEqual([pair, '{"x":1}']);
  });

  it('joins a line and a character cut across chunks, and keeps a last line without "\\n"', async () => {
    const bytes = Buffer.from('{"q":"熊猫"}\n{"q":"😀"}', 'utf8');
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(await linesOf(chunks)).toEqual(['{"q":"熊猫"}', '{"q":"😀"}']);
    expect(await linesOf(['a\n', '\n', 'b'])).toEqual(['a', '', 'b']);
  });
});
