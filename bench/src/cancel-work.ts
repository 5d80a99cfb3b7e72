/**
 * Issue 21's closing measurement: pairs a device still runs after a job is cancelled. A job of
 * 10,000 and one of 100,000 documents on the generated tiny encoder, through the real processes
 * (API, aggregator, a launcher with one CPU worker, default settings), each cancelled 1 s after its
 * 202; the worker's rerank_worker_pairs_run_total (pairs its device ran, batch by batch) read just
 * before the DELETE and once the device has been idle for a second.
 * `npm run build && node dist/bench/src/cancel-work.js [documents...]` (default 10000 100000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, freePort } from '@rerank/harness';
import { makeTestModel } from '@rerank/model-gen';

/** The counter of pairs the device ran, off the launcher's /metrics (Prometheus text). */
async function pairsRun(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith('rerank_worker_pairs_run_total{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const root = mkdtempSync(join(tmpdir(), 'rerank-cancel-work-'));
  const model = await makeTestModel({ family: 'encoder', outDir: join(root, 'tiny'), preset: 'tiny', seed: 7 });
  const launcherPort = await freePort();
  const metrics = `http://127.0.0.1:${launcherPort}/metrics`;
  const cluster = await Cluster.start({ models: [{ name: 'tiny', path: model.dir }] });
  try {
    await cluster.startWorkers('cpu', { HEALTH_PORT: String(launcherPort) });
    console.log('| documents | pairs run before the cancel | pairs run after the cancel |');
    console.log('|---:|---:|---:|');
    for (const n of sizes.length ? sizes : [10000, 100000]) {
      const documents = Array.from({ length: n }, (_, i) =>
        `document ${i} about ${['rivers', 'harbors', 'libraries', 'mountains'][i % 4]} and ${'word '.repeat(i % 23)}`.trim(),
      );
      const start = await pairsRun(metrics);
      const created = await fetch(`${cluster.base}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', query: 'where is the old library near the harbor', documents }),
      });
      if (created.status !== 202) throw new Error(`POST /v1/jobs: HTTP ${created.status} ${await created.text()}`);
      const { id } = (await created.json()) as { id: string };
      await sleep(1000);
      const before = await pairsRun(metrics);
      const cancelled = await fetch(`${cluster.base}/v1/jobs/${id}`, { method: 'DELETE' });
      if (cancelled.status !== 200) throw new Error(`DELETE /v1/jobs/${id}: HTTP ${cancelled.status} ${await cancelled.text()}`);
      // Idle for a second: whatever the cancel did not stop has run by then.
      let after = await pairsRun(metrics);
      for (;;) {
        await sleep(1000);
        const now = await pairsRun(metrics);
        if (now === after) break;
        after = now;
      }
      console.log(`| ${n} | ${before - start} | ${after - before} |`);
    }
  } finally {
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((e: Error) => {
  console.error(e);
  process.exitCode = 1;
});
