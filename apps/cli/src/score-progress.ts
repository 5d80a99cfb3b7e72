/**
 * `rerank score`'s progress on stderr when it is a terminal: pairs scored of pairs to score (the
 * file's pairs, or those read so far from stdin), rate and time left. Inactive otherwise.
 */
import { SingleBar } from 'cli-progress';

export interface ScoreProgress {
  readonly active: boolean;
  setTotal(total: number): void;
  read(pairsRead: number): void;
  scored(pairsScored: number): void;
  stop(): void;
}

export function scoreProgress(stream: NodeJS.WriteStream): ScoreProgress {
  if (!stream.isTTY)
    return { active: false, setTotal: () => undefined, read: () => undefined, scored: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream,
    format: 'scoring {bar} {value}/{total} pairs | {rate} pairs/s | eta {eta_formatted}',
    hideCursor: true,
    barsize: 30,
  });
  const t0 = Date.now();
  let total: number | undefined;
  let started = false;
  const rate = (n: number) => (n / Math.max((Date.now() - t0) / 1000, 1e-3)).toFixed(1);
  const start = (t: number) => {
    if (!started) bar.start(t, 0, { rate: '0.0' });
    started = true;
  };
  return {
    active: true,
    setTotal(t) {
      total = t;
      start(t);
      bar.setTotal(t);
    },
    read(n) {
      // From stdin the total is what has been read so far.
      if (total !== undefined) return;
      start(n);
      bar.setTotal(n);
    },
    scored(n) {
      start(total ?? n);
      bar.update(n, { rate: rate(n) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
