/** JSON lines from a byte stream, one value per line, as they arrive (a line may span chunks). */
export async function* parseJsonLines<T>(body: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let pending = '';
  let lineNumber = 0;
  const parse = (line: string): T => {
    lineNumber++;
    try {
      return JSON.parse(line) as T;
    } catch (e) {
      throw new Error(`line ${lineNumber} of the JSON-lines answer is not JSON (${(e as Error).message}): ${line.slice(0, 200)}`, {
        cause: e,
      });
    }
  };
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield parse(line);
    }
  }
  pending += decoder.decode();
  if (pending.trim()) yield parse(pending.trim());
}
