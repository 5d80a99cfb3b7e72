/**
 * Redis refusing writes with MISCONF, its answer when it cannot persist (a failed RDB snapshot under
 * stop-writes-on-bgsave-error yes): the real redis-server's own refusal on a full disk. Redis's data
 * directory is a small tmpfs of its own, filled up, so the snapshot's write fails with "No space left
 * on device"; freeing the space and a snapshot that succeeds end the refusal. Mounting needs root:
 * as a normal user the directory is taken away instead (the snapshot's temporary file cannot be
 * created), which the test names say. Every API entry point answers 503 with Retry-After, nothing
 * stored; a job running meanwhile is retried by the workers and the aggregator
 * (RERANK_INFRA_RETRY_MS), not failed, and completes with the engine's scores once Redis takes
 * writes again.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, type ClusterOptions } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { testEncoderDir, removeTestModels, referenceScores } from '../support/model';
import { waitFor } from '../support/processes';

jest.setTimeout(240000);

const MISCONF_REPLY = /^MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tmpfs of `size` on a new temporary directory, or undefined when mounting is refused (not root). */
function mountTmpfs(size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'rerank-full-disk-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status === 0) return dir;
  rmSync(dir, { recursive: true, force: true });
  console.log(`redis-misconf: no tmpfs (${(mount.stderr || String(mount.error)).trim()}); Redis's directory is deleted instead`);
  return undefined;
}

function unmount(dir: string): void {
  const run = spawnSync('umount', [dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`umount ${dir} failed: ${run.stderr}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Whether this run can mount (root): decided once, with a mount that is released at once. */
const CAN_MOUNT = ((probe) => (probe === undefined ? false : (unmount(probe), true)))(mountTmpfs('64k'));
const DISK = CAN_MOUNT ? "Redis's directory a full tmpfs" : "Redis's directory deleted: no tmpfs, mounting needs root";

let cluster: Cluster | undefined;
let mounted: string | undefined;
afterEach(async () => {
  // No snapshot at shutdown (a full disk would make Redis refuse to exit), then the mount goes.
  await cluster?.redis.client.config('SET', 'save', '').catch(() => undefined);
  await cluster?.stop();
  cluster = undefined;
  if (mounted) unmount(mounted);
  mounted = undefined;
});
afterAll(() => removeTestModels());

/** A cluster whose Redis keeps its data on a 16 MB tmpfs of its own when this run can mount one. */
async function startCluster(options: ClusterOptions): Promise<Cluster> {
  mounted = CAN_MOUNT ? mountTmpfs('16m') : undefined;
  return (cluster = await Cluster.start({ ...options, redisDir: mounted }));
}

/** Fills the file system under `dir` to the last byte: ENOSPC ends the writes. */
function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

const bgsaveStatus = async (c: Cluster, status: 'ok' | 'err') =>
  waitFor(
    `the snapshot's status ${status}`,
    async () => {
      const info = await c.redis.client.info('persistence');
      return info.includes('rdb_bgsave_in_progress:0') && info.includes(`rdb_last_bgsave_status:${status}`) ? true : undefined;
    },
    10000,
    50,
  );

/** Redis's snapshot fails (no space left, or no directory) and, with stop-writes-on-bgsave-error, every write is refused; reads answer. */
async function stopPersisting(c: Cluster): Promise<void> {
  const redis = c.redis.client;
  if (mounted) fill(mounted);
  else rmSync(c.redis.dir, { recursive: true, force: true });
  await redis.config('SET', 'save', '3600 1');
  await redis.config('SET', 'stop-writes-on-bgsave-error', 'yes');
  await redis.bgsave();
  await bgsaveStatus(c, 'err');
  // Redis's own log says why (its snapshot child writes there).
  if (mounted) expect(c.redis.process.output()).toMatch(/Write error saving DB on disk(?:\(\w+\))?: No space left on device/);
  await expect(redis.set('rerank:test:probe', '1')).rejects.toThrow(MISCONF_REPLY);
}

/** Space again (the filler removed) and a snapshot that succeeds; without the tmpfs, Redis told to take writes. */
async function persistAgain(c: Cluster): Promise<void> {
  if (mounted) {
    rmSync(join(mounted, 'filler'));
    await c.redis.client.bgsave();
    await bgsaveStatus(c, 'ok');
  } else {
    await c.redis.client.config('SET', 'stop-writes-on-bgsave-error', 'no');
  }
  expect(await c.redis.client.set('rerank:test:probe', '1')).toBe('OK');
  await c.redis.client.del('rerank:test:probe');
}

it(`every entry point answers 503 with Retry-After while Redis refuses writes (MISCONF; ${DISK}), and takes work again after`, async () => {
  const dir = await testEncoderDir();
  // Small shards: a worker stopping at the end finishes its shard in well under a second.
  const c = await startCluster({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: { RERANK_SHARD_MAX_PAIRS: '100' },
  });
  const queued = await c.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: makeDocuments(2000, 5, 4, 30) });
  expect(queued.status).toBe(202);
  await stopPersisting(c);
  const refusing = await c.footprint();
  const answers: Record<string, { status: number; code: unknown; retryAfter: string | null; misconf: boolean }> = {};
  const record = (name: string, r: { status: number; body: any; headers: Headers }) => {
    const message = String(r.body?.error?.message ?? r.body?.error ?? '');
    answers[name] = {
      status: r.status,
      code: r.body?.error?.code ?? r.body?.error_type,
      retryAfter: r.headers.get('retry-after'),
      misconf: message.includes('MISCONF'),
    };
  };
  record('POST /v1/jobs', await c.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['a', 'b'] }));
  record('POST /v1/rerank', await c.client.post('/v1/rerank', { model: 'tiny', query: 'q', documents: ['a', 'b'] }));
  record('POST /rerank (TEI)', await c.client.post('/rerank', { query: 'q', texts: ['a', 'b'] }));
  record('DELETE /v1/jobs/{id}', await c.client.del(`/v1/jobs/${queued.body.id}`));
  expect(answers).toEqual({
    'POST /v1/jobs': { status: 503, code: 'queue_unavailable', retryAfter: '2', misconf: true },
    'POST /v1/rerank': { status: 503, code: 'queue_unavailable', retryAfter: '2', misconf: true },
    'POST /rerank (TEI)': { status: 503, code: 'unhealthy', retryAfter: '2', misconf: true },
    'DELETE /v1/jobs/{id}': { status: 503, code: 'unavailable', retryAfter: '2', misconf: true },
  });
  // Nothing was stored by the refused requests (reads answer meanwhile).
  expect((await c.footprint()).keys).toEqual(refusing.keys);
  expect((await c.client.get(`/v1/jobs/${queued.body.id}`)).status).toBe(200);

  await persistAgain(c);
  const accepted = await c.client.post('/v1/jobs', { model: 'tiny', query: 'q', documents: ['a', 'b'] });
  expect(accepted.status).toBe(202);
  expect((await c.client.del(`/v1/jobs/${queued.body.id}`)).status).toBe(200);
});

/** A cluster with one CPU worker (small shards) and a 3,000-document job of `query` that has made some progress. */
async function runningJob(env: Record<string, string>, query: string, seed: number) {
  const dir = await testEncoderDir();
  const c = await startCluster({
    models: [{ name: 'tiny', path: dir }],
    devices: 'cpu',
    env: { RERANK_THREADS: '1', RERANK_SHARD_MAX_PAIRS: '150', ...env },
  });
  const docs = makeDocuments(3000, seed, 4, 30);
  const created = await c.client.post('/v1/jobs', { model: 'tiny', query, documents: docs, top_k: 5 });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  await waitFor(
    'some progress',
    async () => ((await c.client.get(`/v1/jobs/${id}`)).body.progress.pairs_done >= 300 ? true : undefined),
    60000,
    50,
  );
  return { c, id, dir, docs };
}

it(`a job running while Redis refuses writes (MISCONF; ${DISK}) for 8 s completes with the engine's scores`, async () => {
  const query = 'harbor station';
  // One attempt per shard: a refusal counted as the shard's own error would fail the job at once.
  const { c, id, dir, docs } = await runningJob({ RERANK_SHARD_ATTEMPTS: '1' }, query, 93);
  await stopPersisting(c);
  await sleep(8000);
  const during = await c.client.get(`/v1/jobs/${id}`);
  expect(during.body.status).toBe('running');
  expect(during.body.progress.pairs_done).toBeLessThan(3000);
  await persistAgain(c);

  const view = await c.client.waitJob(id, 180000, undefined, 250);
  expect([view.status, view.error]).toEqual(['completed', null]);
  expect(view.progress).toMatchObject({ pairs_done: 3000, pairs_total: 3000 });
  const all = await c.client.get(`/v1/jobs/${id}/results?all=true&format=json`);
  expect(all.body.results[0].scores).toEqual(await referenceScores(dir, query, docs));
});

it(`workers retry a MISCONF refusal (${DISK}) as Redis's, not the job's: past RERANK_INFRA_RETRY_MS the job fails with Redis's reason`, async () => {
  // Locks outlive the refusal here, so the shard that gives up keeps it and its failure is recorded.
  const { c, id } = await runningJob({ RERANK_INFRA_RETRY_MS: '1500', RERANK_LOCK_DURATION_MS: '60000' }, 'quiet river', 94);
  await stopPersisting(c);
  await sleep(6000);
  await persistAgain(c);
  const view = await c.client.waitJob(id, 120000, undefined, 250);
  expect(view.status).toBe('failed');
  expect(view.error.code).toBe('shard_failed');
  expect(view.error.message).toMatch(
    /^shard \d+ failed: Redis unavailable for \d+ ms while (?:starting|recording the progress of) shard \d+ of job job_\S+ \(gave up after RERANK_INFRA_RETRY_MS\): MISCONF /,
  );
});
