/**
 * A progress bar on stderr while a job runs, when stderr is a terminal (cli-progress draws nothing
 * otherwise, so piped output and logs stay clean).
 */
import { SingleBar } from 'cli-progress';
import type { Job } from '@rerank/client';

export interface ProgressView {
  update(job: Job): void;
  stop(): void;
}

export function jobProgressBar(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream,
    format: '{id} {bar} {percentage}% | {value}/{total} pairs | {shards} shards | {status}',
    hideCursor: true,
    clearOnComplete: false,
    barsize: 30,
  });
  let started = false;
  return {
    update(job) {
      const p = job.progress;
      const payload = { id: job.id, status: job.status, shards: `${p.shards_done}/${p.shards_total}` };
      if (!started) {
        bar.start(p.pairs_total, p.pairs_done, payload);
        started = true;
      } else {
        bar.setTotal(p.pairs_total);
        bar.update(p.pairs_done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
