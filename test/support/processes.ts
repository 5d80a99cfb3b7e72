/** The apps as real processes from dist/ (npm test builds first; run `npm run build` when iterating). */
import { type AppProcess, waitForHttp as harnessWaitForHttp } from '@rerank/harness';

export { type AppProcess, ENTRY, ROOT, spawnApp, waitFor } from '@rerank/harness';

/** Polls `url` until it answers `status`; fails at once (with its output) when `proc` exits first. */
export function waitForHttp(url: string, status = 200, timeoutMs = 30000, proc?: AppProcess): Promise<void> {
  return harnessWaitForHttp(url, { status, timeoutMs, process: proc });
}
