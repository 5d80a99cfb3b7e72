/** The apps as real processes from dist/ (npm test builds first; run `npm run build` when iterating). */
import { type AppProcess, waitFor } from '@rerank/harness';

export { type AppProcess, ENTRY, ROOT, spawnApp, waitFor } from '@rerank/harness';

export async function waitForHttp(url: string, status = 200, timeoutMs = 30000, proc?: AppProcess): Promise<void> {
  await waitFor(`${url} to answer ${status}${proc ? ` (${proc.name} output:\n${proc.output().slice(-3000)})` : ''}`, async () => {
    if (proc && proc.proc.exitCode !== null) throw new Error(`${proc.name} exited: ${proc.output().slice(-3000)}`);
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.status === status ? true : undefined;
  }, timeoutMs, 150);
}
