/**
 * `rerank jobs watch <id>`: the job's events until it ends, drawn live on a terminal (watch-view.ts)
 * or written as JSON lines {"event","id","data"} when stdout is not one. Resolves to the exit status:
 * 0 when the job completed, 1 when it failed or was cancelled.
 */
import type { JobEvent, RerankClient } from '@rerank/client';
import { WatchView } from './watch-view';

export async function watchJob(client: RerankClient, id: string, out: NodeJS.WritableStream): Promise<number> {
  const tty = (out as NodeJS.WriteStream).isTTY ? new WatchView(id, out as NodeJS.WriteStream) : undefined;
  let last: JobEvent | undefined;
  const events = client.watchJob(id, {
    onReconnect: (attempt, cause) => {
      const note = `connection lost (${cause.message}); reconnecting, attempt ${attempt}`;
      if (tty) tty.say(note);
      else process.stderr.write(`rerank jobs watch: ${note}\n`);
    },
  });
  for await (const event of events) {
    last = event;
    if (tty) tty.update(event);
    else if (!out.write(`${JSON.stringify(event)}\n`)) await new Promise((resolve) => out.once('drain', resolve));
  }
  if (last === undefined || last.event === 'progress' || last.event === 'partial') {
    process.stderr.write(`rerank jobs watch: the stream of job ${id} ended without its final event\n`);
    return 1;
  }
  return last.event === 'completed' ? 0 : 1;
}
