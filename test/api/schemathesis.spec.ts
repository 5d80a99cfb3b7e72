/**
 * API fuzzing: schemathesis (pinned in python/requirements.txt, installed by `npm run setup:python`)
 * against the OpenAPI document the API serves, on real processes (API, aggregator, one worker) and a
 * real Redis. Every operation of the document is exercised (examples, coverage, fuzzing, then the
 * stateful phase, which chains POST /v1/jobs into the job operations through the document's links);
 * no answer may be a 5xx and every answer must match the documented status codes, content types and
 * schemas. A bounded number of examples per operation and a fixed seed keep it under two minutes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../support/cluster';
import { removeTestModels, testEncoderDir } from '../support/model';
import { ROOT } from '../support/processes';

jest.setTimeout(5 * 60_000);

const VENV = process.env.RERANK_PYTHON_VENV ?? join(ROOT, '.venv');
const SCHEMATHESIS = join(VENV, 'bin', 'schemathesis');
/** Checks that hold for this API: server errors, and conformance to the document. */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
  'ignored_auth',
];
const KEY = 'fuzz-key-0123456789';
/** The name of the document's examples, so they reach scoring too. */
const MODEL = 'my-reranker';
/** Nothing listens there: deliveries fail once (RERANK_WEBHOOK_ATTEMPTS=1) and are recorded on the job. */
const WEBHOOK_URL = 'http://127.0.0.1:9/fuzz-hook';
const PHASES = ['examples', 'coverage', 'fuzzing', 'stateful'];
const MAX_EXAMPLES = 40;
const SEED = 20240612;

let cluster: Cluster;
let reportDir: string;

beforeAll(async () => {
  if (!existsSync(SCHEMATHESIS)) {
    throw new Error(
      `API fuzzing needs schemathesis (${SCHEMATHESIS} is missing): run \`npm run setup:python\` (scripts/setup-python.sh); .ci/run does it before \`npm test\``,
    );
  }
  reportDir = mkdtempSync(join(tmpdir(), 'rerank-schemathesis-'));
  cluster = await Cluster.start({
    models: [{ name: MODEL, path: await testEncoderDir() }],
    devices: 'cpu',
    env: {
      RERANK_API_KEYS: `fuzz:${KEY}`,
      // Fuzzing sends hundreds of requests a minute from one client: no per-key limits here.
      RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
      RERANK_RATE_LIMIT_PAIRS_PER_MINUTE: '0',
      RERANK_RATE_LIMIT_ACTIVE_JOBS: '0',
      RERANK_WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8,localhost',
      RERANK_WEBHOOK_ATTEMPTS: '1',
    },
  });
});

afterAll(async () => {
  await cluster?.stop();
  removeTestModels();
  if (reportDir) rmSync(reportDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  output: string;
}

function runSchemathesis(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCHEMATHESIS, args, {
      cwd: reportDir,
      env: {
        ...process.env,
        NO_COLOR: '1',
        PYTHONUNBUFFERED: '1',
        PYTHONPATH: __dirname,
        SCHEMATHESIS_HOOKS: 'schemathesis_hooks',
        RERANK_FUZZ_MODEL: MODEL,
        RERANK_FUZZ_WEBHOOK_URL: WEBHOOK_URL,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** "METHOD /path" of every operation in the served document. */
async function documentedOperations(): Promise<string[]> {
  const doc = (await (await fetch(`${cluster.client.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

interface Exchange {
  phase: string;
  operation: string;
  status: number;
}

/** Every request schemathesis sent and the status it got, from its NDJSON event report. */
function exchanges(ndjsonPath: string): Exchange[] {
  const out: Exchange[] = [];
  for (const line of readFileSync(ndjsonPath, 'utf8').split('\n')) {
    if (!line.includes('"ScenarioFinished"')) continue;
    const ev = JSON.parse(line).ScenarioFinished as {
      phase: string;
      recorder?: { interactions?: Record<string, { request: { method: string; uri: string }; response: { status_code: number } | null }> };
    };
    for (const { request, response } of Object.values(ev.recorder?.interactions ?? {})) {
      if (!response) continue;
      const path = new URL(request.uri).pathname.replace(/^\/v1\/jobs\/[^/]+/, '/v1/jobs/{id}');
      out.push({ phase: ev.phase, operation: `${request.method} ${path}`, status: response.status_code });
    }
  }
  return out;
}

test('schemathesis: no 5xx and every response as documented, on every operation, statefully through jobs', async () => {
  const operations = await documentedOperations();
  expect(operations).toEqual(
    expect.arrayContaining([
      'POST /v1/rerank',
      'POST /v2/rerank',
      'POST /v1/jobs',
      'GET /v1/jobs/{id}',
      'GET /v1/jobs/{id}/results',
      'DELETE /v1/jobs/{id}',
    ]),
  );
  const junit = join(reportDir, 'junit.xml');
  const events = join(reportDir, 'events.ndjson');
  const run = await runSchemathesis(
    [
      'run',
      `${cluster.client.base}/openapi.json`,
      '--checks',
      CHECKS.join(','),
      '--phases',
      PHASES.join(','),
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      String(SEED),
      '--workers',
      '1',
      '--header',
      `Authorization: Bearer ${KEY}`,
      '--request-timeout',
      '30',
      '--report',
      'junit,ndjson',
      '--report-junit-path',
      junit,
      '--report-ndjson-path',
      events,
      '--output-truncate',
      'false',
    ],
    4 * 60_000,
  );
  // schemathesis prints each failure with its check (ST1xx), the response and a curl line to reproduce it.
  if (run.code !== 0) throw new Error(`schemathesis exited ${run.code}:\n${run.output.slice(-20000)}`);

  // Every documented operation ran as a test case, none failed.
  const xml = readFileSync(junit, 'utf8');
  const cases = [...xml.matchAll(/<testcase[^>]*name="([^"]+)"/g)].map((m) => m[1]);
  for (const op of operations) expect(cases).toContain(op);
  expect(xml).not.toMatch(/<failure|<error/);

  // What the API answered: never a 5xx; real work on both paths (scored sync requests, queued jobs) and
  // a stateful phase that chained created jobs into reads and cancels of those same jobs.
  const seen = exchanges(events);
  expect(seen.length).toBeGreaterThan(500);
  expect(seen.filter((e) => e.status >= 500)).toEqual([]);
  const count = (phase: string | undefined, operation: string, status: number) =>
    seen.filter((e) => (phase === undefined || e.phase === phase) && e.operation === operation && e.status === status).length;
  expect(count(undefined, 'POST /v1/rerank', 200)).toBeGreaterThan(0);
  expect(count(undefined, 'POST /v2/rerank', 200)).toBeGreaterThan(0);
  expect(count(undefined, 'POST /v1/rerank', 400)).toBeGreaterThan(0);
  expect(count('stateful', 'POST /v1/jobs', 202)).toBeGreaterThan(0);
  expect(count('stateful', 'GET /v1/jobs/{id}', 200)).toBeGreaterThan(0);
  // A cancel reaches a real job: 200 while it runs, 409 once a worker has already finished it (both documented).
  expect(count('stateful', 'DELETE /v1/jobs/{id}', 200) + count('stateful', 'DELETE /v1/jobs/{id}', 409)).toBeGreaterThan(0);
  expect(run.output).toMatch(/API Links:\s+[1-9]\d* covered/);
  // No key, or a wrong one: 401 on every guarded operation (the ignored_auth check sent those).
  expect(seen.some((e) => e.operation === 'POST /v1/jobs' && e.status === 401)).toBe(true);
});
