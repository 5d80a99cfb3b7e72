/**
 * The job page (/jobs/{id}) in a real headless browser: Debian's chromium driven by playwright-core,
 * on real processes (redis-server, the API with RERANK_API_KEYS, the aggregator, one worker paused
 * and resumed with SIGSTOP / SIGCONT so the job is seen mid-way). The page asks for the key and keeps
 * it out of storage; its progress rises while the worker scores in bursts; its provisional best k
 * turns into a final top k equal to GET /v1/jobs/{id}/results; its download equals
 * GET /v1/jobs/{id}/results?all=true; a stream cut by an API restart resumes with Last-Event-ID and
 * loses nothing; an unknown job and a cancelled one say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { AppProcess } from '@rerank/harness';
import { Cluster } from '../support/cluster';
import type { ApiClient } from '../support/http';
import { testEncoderDir } from '../support/model';
import { applyPartials, openSse } from '../support/sse';
import { burst, WATCH_BODY, WATCH_DOCS, WATCH_ENV, WATCH_QUERIES } from '../support/watched-job';

/**
 * The browser globals the page callbacks read: they run in chromium, while this file is type-checked
 * against Node's types only (the DOM library would change the types of every other file).
 */
interface PageNode {
  textContent: string | null;
  className: string;
  outerHTML: string;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageNode | null;
}
declare const document: { getElementById(id: string): PageNode | null; cookie: string; documentElement: PageNode };
declare const location: { href: string };
declare const localStorage: Record<string, string>;
declare const sessionStorage: Record<string, string>;

jest.setTimeout(240000);

const KEY = 'job-page-test-key-0123456789';
const ENV = { ...WATCH_ENV, RERANK_API_KEYS: `page:${KEY}` };
const PAIRS = String(WATCH_QUERIES.length * WATCH_DOCS.length);

/** Debian's chromium on PATH (scripts/install-system-deps.sh installs it); the test fails without it, saying how to install it. */
function chromiumPath(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir, 'chromium');
    if (dir && existsSync(path)) return path;
  }
  throw new Error(
    "Debian's chromium is not installed: the job page's browser test needs it. Run scripts/install-system-deps.sh (as root or with sudo), or apt-get install -y chromium",
  );
}

let browser: Browser | undefined;
let cluster: Cluster;
let api: ApiClient;
let worker: AppProcess;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath() });
  cluster = await Cluster.start({ models: [{ name: 'enc', path: await testEncoderDir() }], env: ENV, recovery: 'default' });
  api = cluster.client.withKey(KEY);
  worker = await cluster.startWorker();
  worker.proc.kill('SIGSTOP');
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await cluster?.stop();
});

/**
 * A fresh page (its own context: no storage shared with another test), with its script errors and the
 * requests its Content-Security-Policy refused. (The API's 401 and 404 answers, which the page reads, and
 * /favicon.ico's 404 are logged as failed loads: not errors of the page.)
 */
async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser!.newContext({ acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (401|404) /.test(m.text()))
      errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** Opens the page of job `id`, checks how it is served, and answers its key prompt with `KEY`. */
async function openWithKey(page: Page, id: string): Promise<void> {
  const response = await page.goto(`${cluster.base}/jobs/${id}`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await page.locator('#key-form').waitFor({ state: 'visible' });
  await page.fill('#key', KEY);
  await page.press('#key', 'Enter');
  await page.locator('#key-form').waitFor({ state: 'hidden' });
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

/** The page's top-k table, row by row. */
const tableRows = (page: Page) =>
  page.$$eval('#top-k tbody tr', (rows) =>
    rows.map((r) => {
      const cell = (name: string) => r.querySelector(`td.${name}`)?.textContent ?? '';
      const tr = r as unknown as PageNode;
      return {
        query_index: Number(tr.dataset.queryIndex),
        rank: Number(tr.dataset.rank),
        index: Number(cell('index')),
        id: cell('id'),
        score: Number(cell('score')),
        document: cell('document'),
      };
    }),
  );

describe('job page (/jobs/{id}) in headless chromium', () => {
  it('asks for the key, shows progress rising and a provisional best k, then the final top k of the results and a download of all scores', async () => {
    const created = await api.post('/v1/jobs', WATCH_BODY);
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    const shards: number = created.body.progress.shards_total;
    expect(shards).toBeGreaterThanOrEqual(30);
    const { page, errors } = await newPage();

    // Without a key the API answers 401: the page shows its message and asks for the key.
    const response = await page.goto(`${cluster.base}/jobs/${id}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('#key-form').waitFor({ state: 'visible' });
    const noKey = await cluster.client.get(`/v1/jobs/${id}`);
    expect(noKey.status).toBe(401);
    await expect(page.locator('#message').textContent()).resolves.toBe(noKey.body.error.message);
    expect(await page.isHidden('#job')).toBe(true);

    // A wrong key: the API's 401 message, and the prompt stays.
    const wrong = await cluster.client.withKey('not-the-key').get(`/v1/jobs/${id}`);
    expect(wrong.status).toBe(401);
    await page.fill('#key', 'not-the-key');
    await page.press('#key', 'Enter');
    await page.waitForFunction((m) => document.getElementById('message')?.textContent === m, wrong.body.error.message);
    expect(await page.isVisible('#key-form')).toBe(true);

    // The right key: the job.
    await page.fill('#key', KEY);
    await page.press('#key', 'Enter');
    await page.locator('#job').waitFor({ state: 'visible' });
    expect(await page.isHidden('#key-form')).toBe(true);
    expect(await page.isHidden('#message')).toBe(true);
    expect(await text(page, '#job-id')).toBe(id);
    expect(await text(page, '#model')).toBe('enc');
    expect(await text(page, '#queries')).toBe(String(WATCH_QUERIES.length));
    expect(await text(page, '#documents')).toBe(String(WATCH_DOCS.length));
    expect(await text(page, '#pairs')).toBe(PAIRS);
    expect(await text(page, '#shards-total')).toBe(String(shards));
    expect(await text(page, '#pairs-total')).toBe(PAIRS);
    expect(await text(page, '#shards-done')).toBe('0');

    // The worker scores in bursts: the shards done on the page rise, with a provisional best k, before the end.
    const seen: number[] = [];
    let provisionalRows = 0;
    for (let round = 0; seen.length < 2 || provisionalRows === 0; round++) {
      if (round >= 60)
        throw new Error(`after 60 bursts the page showed shards done ${JSON.stringify(seen)}, ${provisionalRows} provisional rows`);
      await burst(worker, 40);
      const done = Number(await text(page, '#shards-done'));
      if (done >= shards) throw new Error(`the job finished within the bursts (page showed ${JSON.stringify(seen)}): bursts too long`);
      if (done > 0 && done !== seen[seen.length - 1]) seen.push(done);
      if ((await page.getAttribute('#results-state', 'class')) === 'provisional') {
        provisionalRows = (await tableRows(page)).length;
        expect(await text(page, '#results-state')).toMatch(/^Provisional/);
        expect(await page.isHidden('#download')).toBe(true);
      }
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen[0]).toBeLessThan(seen[1]);
    expect(await text(page, '#status')).toBe('running');
    expect(Number(await text(page, '#pairs-done'))).toBeGreaterThan(0);

    // The rest at once: the final top k, equal to GET .../results (document texts included).
    worker.proc.kill('SIGCONT');
    await page.waitForFunction(() => document.getElementById('results-state')?.className === 'final', undefined, { timeout: 120000 });
    expect(await text(page, '#status')).toBe('completed');
    expect(await text(page, '#shards-done')).toBe(String(shards));
    expect(await text(page, '#pairs-done')).toBe(PAIRS);
    expect(Number((await text(page, '#rate')).replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await text(page, '#eta')).toBe('0 s');
    const results = await api.get(`/v1/jobs/${id}/results`);
    expect(results.status).toBe(200);
    const expected = (results.body.results as any[]).flatMap((q) =>
      (q.top_k as any[]).map((r, i) => ({
        query_index: q.query_index,
        rank: i + 1,
        index: r.index,
        id: r.id,
        score: r.score,
        document: r.document.text,
      })),
    );
    expect(expected).toHaveLength(WATCH_QUERIES.length * 5);
    expect(await tableRows(page)).toEqual(expected);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'ended');

    // Every score as JSON lines, saved under the job's name: the bytes of GET .../results?all=true.
    const all = await api.get(`/v1/jobs/${id}/results?all=true`);
    expect(all.status).toBe(200);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`${id}-scores.jsonl`);
    const saved = readFileSync(await download.path(), 'utf8');
    expect(saved).toBe(all.text);
    expect(String(saved.trimEnd().split('\n').length)).toBe(PAIRS);

    // The key lived in the script's memory only.
    const kept = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
      url: location.href,
      html: document.documentElement.outerHTML,
    }));
    expect(kept).toMatchObject({ local: '{}', session: '{}', cookie: '' });
    for (const v of Object.values(kept)) expect(v).not.toContain(KEY);
    expect(await page.context().cookies()).toEqual([]);
    // The page ran under its Content-Security-Policy without a violation or a script error.
    expect(errors).toEqual([]);
  });

  it('resumes its stream with Last-Event-ID after the API restarts mid-job: nothing lost, and the final top k of the results', async () => {
    worker.proc.kill('SIGSTOP');
    const created = await api.post('/v1/jobs', WATCH_BODY);
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    const shards: number = created.body.progress.shards_total;
    const { page, errors } = await newPage();
    const eventRequests: Record<string, string>[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith(`/v1/jobs/${id}/events`)) eventRequests.push(r.headers());
    });
    await openWithKey(page, id);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'live');
    for (let round = 0; (await tableRows(page)).length === 0; round++) {
      if (round >= 60) throw new Error('no provisional best k on the page after 60 bursts');
      await burst(worker, 40);
    }
    const doneAtCut = Number(await text(page, '#shards-done'));
    expect(doneAtCut).toBeLessThan(shards);

    // The API dies (the stream is cut) and comes back on the same port; the worker scores meanwhile.
    await cluster.api.kill();
    await page.waitForFunction(() => document.getElementById('connection')?.textContent?.startsWith('cut'));
    await burst(worker, 60);
    await cluster.restartApi();
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'live', undefined, { timeout: 30000 });
    for (let round = 0; Number(await text(page, '#shards-done')) === doneAtCut; round++) {
      if (round >= 60) throw new Error(`the page stayed at ${doneAtCut} shards done after the restart`);
      await burst(worker, 40);
    }
    // The reconnect sent the id of the last event the page had: resumed, not started over.
    expect(eventRequests.length).toBeGreaterThanOrEqual(2);
    expect(eventRequests[0]['last-event-id']).toBeUndefined();
    expect(eventRequests[eventRequests.length - 1]['last-event-id']).toMatch(/^\d+-\d+$/);
    expect(eventRequests.every((h) => h.authorization === `Bearer ${KEY}`)).toBe(true);

    // With the worker stopped, the page's provisional best k is the state a new stream starts from: nothing lost across the cut.
    const fresh = await openSse(`${cluster.base}/v1/jobs/${id}/events`, { authorization: `Bearer ${KEY}` });
    await fresh.until((e) => e.event === 'partial');
    fresh.close();
    const now = [...applyPartials(fresh.events).entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([q, top]) =>
        top.map((r: any, i: number) => ({ query_index: q, rank: i + 1, index: r.index, id: r.id, score: r.score, document: '' })),
      );
    expect(await page.getAttribute('#results-state', 'class')).toBe('provisional');
    expect(await tableRows(page)).toEqual(now);

    worker.proc.kill('SIGCONT');
    await page.waitForFunction(() => document.getElementById('results-state')?.className === 'final', undefined, { timeout: 120000 });
    const results = await api.get(`/v1/jobs/${id}/results`);
    expect((await tableRows(page)).map(({ document: _d, ...r }) => r)).toEqual(
      (results.body.results as any[]).flatMap((q) =>
        (q.top_k as any[]).map((r, i) => ({ query_index: q.query_index, rank: i + 1, index: r.index, id: r.id, score: r.score })),
      ),
    );
    // Failed loads while the API was down are the browser's notes, not errors of the page.
    expect(errors.filter((e) => !/^Failed to load resource: net::/.test(e))).toEqual([]);
  });

  it("says what the API says of an unknown job (the 404's message)", async () => {
    const missing = 'job_doesnotexist0000000000';
    const answer = await api.get(`/v1/jobs/${missing}`);
    expect(answer.status).toBe(404);
    const { page } = await newPage();
    const response = await page.goto(`${cluster.base}/jobs/${missing}`);
    expect(response?.status()).toBe(200);
    await page.locator('#key-form').waitFor({ state: 'visible' });
    await page.fill('#key', KEY);
    await page.press('#key', 'Enter');
    await page.waitForFunction((m) => document.getElementById('message')?.textContent === m, answer.body.error.message);
    expect(await page.isHidden('#job')).toBe(true);
  });

  it('shows a job cancelled while watched as cancelled, with no results', async () => {
    worker.proc.kill('SIGSTOP');
    const created = await api.post('/v1/jobs', WATCH_BODY);
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    const { page, errors } = await newPage();
    await openWithKey(page, id);
    await page.locator('#job').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'live');
    expect((await api.del(`/v1/jobs/${id}`)).status).toBe(200);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'cancelled');
    expect(await text(page, '#results-state')).toBe('The job was cancelled: it has no results.');
    expect(await tableRows(page)).toEqual([]);
    expect(await page.isHidden('#download')).toBe(true);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'ended');
    expect(errors).toEqual([]);
    worker.proc.kill('SIGCONT');
  });
});
