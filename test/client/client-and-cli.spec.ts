/**
 * The typed client (@rerank/client) and `rerank jobs ...` against a running stack (API, aggregator,
 * a CPU worker, real Redis): rankings equal the engine's in-process, progress reported, cancel,
 * errors, webhook signatures checked with the client's verifier.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Job,
  RerankApiError,
  RerankClient,
  RerankConnectionError,
  type ScoreLine,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
} from '@rerank/client';
import { type FlagReranker, type Pair } from '@rerank/engine';
import { freePort } from '@rerank/harness';
import { Cluster } from '../support/cluster';
import { makeDocuments } from '../support/data';
import { removeTestModels, testEncoderDir, referenceEngine } from '../support/model';
import { waitFor } from '../support/processes';
import { startReceiver } from '../support/webhook-receiver';

const KEY = 'client-key-0123';
const BIN = join(__dirname, '..', '..', 'bin', 'rerank.js');

let cluster: Cluster;
let engine: FlagReranker;
let client: RerankClient;
let cliEnv: NodeJS.ProcessEnv;
const dir = mkdtempSync(join(tmpdir(), 'rerank-client-'));

/** `rerank ...` with the cluster's URL and key in the environment, stdin closed. */
function rerank(args: string[], input = '', env: NodeJS.ProcessEnv = cliEnv) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env, timeout: 120_000 });
}

/** Indices best first, ties to the lower index (the API's order). */
const ranking = (scores: number[]) => scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
const raw = async (q: string, docs: string[]) => await engine.computeScore(docs.map((d) => [q, d] as Pair));

beforeAll(async () => {
  const model = await testEncoderDir();
  // No workers yet: the first jobs stay queued, so cancelling them is deterministic.
  cluster = await Cluster.start({
    models: [{ name: 'tiny', path: model }],
    // Jobs queue while no worker is live (the default, all, would refuse them with 503).
    env: {
      RERANK_API_KEYS: `client:${KEY}`,
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_SHARD_MAX_PAIRS: '40',
      RERANK_REFUSE_UNSERVED: 'sync',
    },
  });
  client = new RerankClient({ baseUrl: `${cluster.client.base}/`, apiKey: KEY });
  cliEnv = { ...process.env, RERANK_URL: cluster.client.base, RERANK_API_KEY: KEY };
  delete cliEnv.NODE_OPTIONS;
  engine = await referenceEngine(model);
});

afterAll(async () => {
  await engine?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
  removeTestModels();
});

const docs = makeDocuments(60, 11);
const query = 'where is the old library near the harbor';

describe('while no worker runs (jobs stay queued)', () => {
  it("CLI: submit from a file, status, cancel; cancelling again is a 409 with the server's message", () => {
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ model: 'tiny', query, documents: docs, top_k: 5 }));
    const submitted = rerank(['jobs', 'submit', join(dir, 'job.json')]);
    expect(submitted.stderr).toBe('');
    expect(submitted.status).toBe(0);
    const job = JSON.parse(submitted.stdout) as Job;
    expect(job).toMatchObject({ object: 'rerank.job', status: 'queued', model: 'tiny', counts: { queries: 1, documents: 60, pairs: 60 } });

    const status = rerank(['jobs', 'status', job.id]);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: job.id, status: 'queued', progress: { pairs_done: 0, pairs_total: 60 } });

    const cancelled = rerank(['jobs', 'cancel', job.id]);
    expect(cancelled.status).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: job.id, status: 'cancelled' });

    const again = rerank(['jobs', 'cancel', job.id]);
    expect(again.status).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(
      `rerank jobs: DELETE /v1/jobs/${job.id}: 409 job_finished: job ${job.id} is already cancelled; only queued or running jobs can be cancelled\n`,
    );

    // wait on a cancelled job: prints it, exit status 1.
    const waited = rerank(['jobs', 'wait', job.id]);
    expect(waited.status).toBe(1);
    expect(JSON.parse(waited.stdout).status).toBe('cancelled');
  });

  it('client: cancelJob, and results of a job that did not complete are a typed 409', async () => {
    const job = await client.submitJob({ model: 'tiny', query, documents: docs.slice(0, 10) }, { idempotencyKey: 'client-cancel-1' });
    expect(job.status).toBe('queued');
    // The same key and body: the same job.
    expect((await client.submitJob({ model: 'tiny', query, documents: docs.slice(0, 10) }, { idempotencyKey: 'client-cancel-1' })).id).toBe(
      job.id,
    );
    expect((await client.cancelJob(job.id)).status).toBe('cancelled');
    const err = await client.results(job.id).catch((e) => e);
    expect(err).toBeInstanceOf(RerankApiError);
    expect(err).toMatchObject({ status: 409, code: 'job_not_completed' });
    expect(err.message).toBe(`GET /v1/jobs/${job.id}/results: 409 job_not_completed: job ${job.id} is cancelled, so it has no results`);
  });

  it('errors: a bad key is a 401, a bad body a 400 naming the field, no server a connection error', async () => {
    const anon = new RerankClient({ baseUrl: cluster.client.base, apiKey: 'wrong-key-00000' });
    await expect(anon.getJob('job_x')).rejects.toMatchObject({ status: 401 });
    const bad = await client.submitJob({ model: 'tiny', query, documents: [5 as unknown as string] }).catch((e) => e);
    expect(bad).toMatchObject({ status: 400, field: 'documents[0]' });
    const cli = rerank(['jobs', 'submit', '-'], JSON.stringify({ model: 'tiny', query, top_k: 0, documents: ['a'] }));
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/^rerank jobs: POST \/v1\/jobs: 400 invalid_request: top_k/);
    const notJson = rerank(['jobs', 'submit', '-'], '{"query": ');
    expect(notJson.stderr).toMatch(/^rerank jobs: submit: stdin is not JSON/);
    // A port nothing listens on.
    const closed = `http://127.0.0.1:${await freePort()}`;
    const nowhere = new RerankClient({ baseUrl: closed });
    await expect(nowhere.getJob('job_x')).rejects.toBeInstanceOf(RerankConnectionError);
    const cliNowhere = rerank(['jobs', 'status', 'job_x', '--url', closed]);
    expect(cliNowhere.stderr).toBe(`rerank jobs: GET ${closed}/v1/jobs/job_x: ECONNREFUSED; is the rerank API running at ${closed}?\n`);
    const noKey = rerank(['jobs', 'status', 'job_x'], '', { ...cliEnv, RERANK_API_KEY: '' });
    expect(noKey.stderr).toMatch(/^rerank jobs: GET \/v1\/jobs\/job_x: 401 /);
  });
});

describe('with a worker', () => {
  beforeAll(async () => {
    await cluster.startWorkers('cpu');
  });

  it('client: sync rerank v2 and v1 rank as the engine (relevance_score = sigmoid of the engine score)', async () => {
    const few = docs.slice(0, 8);
    const expected = await engine.computeScore(
      few.map((d) => [query, d] as Pair),
      { normalize: true },
    );
    const v2 = await client.rerank({ model: 'tiny', query, documents: few, top_n: 3 });
    expect(v2.results).toEqual(
      ranking(expected)
        .slice(0, 3)
        .map((i) => ({ index: i, relevance_score: expected[i] })),
    );
    expect(v2.meta).toEqual({ api_version: { version: '2' }, billed_units: { search_units: 1 } });
    const v1 = await client.rerank({ model: 'tiny', query, documents: few, return_documents: true }, { version: 1 });
    expect(v1.results).toEqual(ranking(expected).map((i) => ({ index: i, relevance_score: expected[i], document: { text: few[i] } })));
    expect(v1.usage.documents).toBe(8);
  });

  it('client: submit, wait with progress, top-k and every score streamed equal the engine; the webhook verifies', async () => {
    const receiver = await startReceiver();
    const secret = 'client-webhook-secret-1';
    try {
      const queries = [
        { id: 'q1', query },
        { id: 'q2', query: 'alpha river' },
      ];
      const documents = docs.map((text, i) => ({ id: `d${i}`, text }));
      const job = await client.submitJob({
        model: 'tiny',
        queries,
        documents,
        top_k: 4,
        webhook: { url: receiver.url, secret },
        metadata: { run: 'client' },
      });
      expect(job.status).toBe('queued');
      const views: Job[] = [];
      const done = await client.waitForJob(job.id, { intervalMs: 50, timeoutMs: 120_000, onProgress: (v) => views.push(v) });
      expect(done).toMatchObject({ status: 'completed', progress: { pairs_done: 120, pairs_total: 120 }, metadata: { run: 'client' } });
      expect(views[views.length - 1]).toEqual(done);
      // Progress never goes back.
      const pairsSeen = views.map((v) => v.progress.pairs_done);
      expect(pairsSeen).toEqual([...pairsSeen].sort((a, b) => a - b));

      const results = await client.results(job.id);
      const expected = [await raw(query, docs), await raw('alpha river', docs)];
      expect(results.results.map((q) => q.query_id)).toEqual(['q1', 'q2']);
      results.results.forEach((q, n) => {
        expect(q.top_k).toEqual(
          ranking(expected[n])
            .slice(0, 4)
            .map((i) => ({ index: i, id: `d${i}`, score: expected[n][i], document: { text: docs[i] } })),
        );
      });

      const lines: ScoreLine[] = [];
      for await (const line of client.streamScores(job.id)) lines.push(line);
      expect(lines).toEqual(
        [0, 1].flatMap((q) =>
          docs.map((_, i) => ({ query_index: q, query_id: queries[q].id, index: i, id: `d${i}`, score: expected[q][i] })),
        ),
      );

      await waitFor('webhook delivery', async () => (receiver.deliveries.length > 0 ? true : undefined), 60_000);
      const d = receiver.deliveries[0];
      expect(verifyWebhookSignature(secret, d.headers[SIGNATURE_HEADER.toLowerCase()] as string, d.raw)).toMatchObject({ ok: true });
      expect(verifyWebhookSignature('another-secret-000', d.headers[SIGNATURE_HEADER.toLowerCase()] as string, d.raw)).toMatchObject({
        ok: false,
        reason: 'signature does not match',
      });
      const tampered = Buffer.from(d.raw.toString('utf8').replace('"completed"', '"failed"'));
      expect(verifyWebhookSignature(secret, d.headers[SIGNATURE_HEADER.toLowerCase()] as string, tampered).ok).toBe(false);
      expect(d.json).toMatchObject({ event: 'job.completed', id: job.id, status: 'completed' });
    } finally {
      await receiver.close();
    }
  });

  it('CLI: submit from stdin --wait, results and results --all equal the engine', () => {
    const body = { model: 'tiny', query: 'omega', documents: docs, top_k: 3 };
    const run = rerank(['jobs', 'submit', '--wait', '--interval-ms', '100'], JSON.stringify(body));
    expect(run.status).toBe(0);
    const job = JSON.parse(run.stdout) as Job;
    expect(job).toMatchObject({ status: 'completed', progress: { pairs_done: 60, pairs_total: 60 } });
    // stderr is not a terminal here: one line naming the job, no progress bar.
    expect(run.stderr).toBe(`job ${job.id} queued\n`);
    return (async () => {
      const expected = await raw('omega', docs);
      const top = rerank(['jobs', 'results', job.id]);
      expect(top.status).toBe(0);
      expect(JSON.parse(top.stdout).results[0].top_k).toEqual(
        ranking(expected)
          .slice(0, 3)
          .map((i) => ({ index: i, score: expected[i], document: { text: docs[i] } })),
      );
      const all = rerank(['jobs', 'results', job.id, '--all']);
      expect(all.status).toBe(0);
      expect(
        all.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual(expected.map((score, index) => ({ query_index: 0, index, score })));
    })();
  });

  it('CLI: wait draws a progress bar when stderr is a terminal', async () => {
    const job = await client.submitJob({ model: 'tiny', query, documents: makeDocuments(400, 3) });
    // `script` gives the command a pseudo-terminal (stdout and stderr both on it).
    const shell = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} jobs wait ${job.id} --interval-ms 50`;
    const tty = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', shell, '/dev/null'], { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      p.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      p.on('close', (code) => resolve({ code, out }));
    });
    expect(tty.code).toBe(0);
    expect(tty.out).toContain(`${job.id} `);
    expect(tty.out).toMatch(/100% \| 400\/400 pairs \| \d+\/\d+ shards \| completed/);
    expect(tty.out).toMatch(/"status": "completed"/);
  });
});
