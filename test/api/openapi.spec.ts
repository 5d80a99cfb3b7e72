/**
 * The OpenAPI document generated from the contract: Redocly's recommended ruleset at 0 errors and
 * 0 warnings (the pinned @redocly/cli, run without a network where the machine allows it), and a
 * client generated from it (the pinned openapi-typescript) that a usage file compiles against.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpenApiDocument } from '../../apps/api/src/openapi';
import { ROUTES } from '../../apps/api/src/routes';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const ENV = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

/** Runs a command in a network namespace of its own (no network at all) when the machine allows it. */
function offline(cmd: string, args: string[], cwd: string) {
  const isolated = spawnSync('unshare', ['-n', cmd, ...args], { cwd, env: ENV, encoding: 'utf8', timeout: 120000 });
  const cannotIsolate = isolated.error !== undefined || /unshare: /.test(isolated.stderr ?? '');
  return {
    ...(cannotIsolate ? spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: 120000 }) : isolated),
    isolated: !cannotIsolate,
  };
}

describe('OpenAPI document', () => {
  let dir: string;
  const doc = buildOpenApiDocument() as Record<string, any>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc, null, 2));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('documents every route of the one table (routes.ts), each under its operation id, and no other', () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${op.operationId} ${method} ${path}`),
    );
    expect(documented.sort()).toEqual(
      Object.entries(ROUTES)
        .map(([id, r]) => `${id} ${r.method} ${r.path}`)
        .sort(),
    );
  });

  test('is OpenAPI 3.1 with named schemas, every status, webhooks, NDJSON and the opaque API-key scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'RerankRequest',
        'RerankResponse',
        'JobRequest',
        'Job',
        'JobResults',
        'ScoreLine',
        'Error',
        'WebhookPayload',
        'TeiRerankRequest',
        'ScoreRequest',
      ]),
    );
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, { example?: unknown }>))
      expect([name, schema.example !== undefined]).toEqual([name, true]);
    expect(Object.keys(doc.paths['/v1/jobs'].post.responses).sort()).toEqual([
      '200',
      '202',
      '400',
      '401',
      '409',
      '413',
      '415',
      '429',
      '503',
    ]);
    expect(Object.keys(doc.paths['/v1/jobs/{id}/results'].get.responses).sort()).toEqual(['200', '400', '401', '404', '409', '429', '503']);
    expect(Object.keys(doc.paths['/v2/rerank'].post.responses).sort()).toEqual(['200', '400', '401', '413', '415', '429', '503', '504']);
    expect(doc.paths['/v1/jobs/{id}/results'].get.responses['200'].content['application/x-ndjson'].schema).toEqual({
      $ref: '#/components/schemas/ScoreLine',
    });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.apiKey.bearerFormat).toBeUndefined();
    expect(Object.keys(doc.webhooks)).toEqual(['job.completed', 'job.failed', 'job.cancelled']);
    const hook = doc.webhooks['job.completed'].post;
    expect(hook.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'header:X-Rerank-Signature',
      'header:X-Rerank-Delivery',
      'header:X-Rerank-Event',
      'header:X-Rerank-Attempt',
    ]);
    expect(hook.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/WebhookPayload' });
    // Engine options come from the engine's contract, with its bounds.
    expect(doc.components.schemas.JobRequest.properties.max_length).toMatchObject({ type: 'integer', minimum: 16, maximum: 131072 });
    expect(doc.components.schemas.JobRequest.properties.batch_size).toMatchObject({ type: 'integer', minimum: 1, maximum: 4096 });
    expect(doc.components.schemas.RerankRequest.properties.compress_ratio).toMatchObject({ enum: [1, 2, 4, 8] });
  });

  test("passes Redocly's recommended ruleset with 0 errors and 0 warnings, offline", () => {
    const run = offline(join(BIN, 'redocly'), ['lint', '--extends', 'recommended', '--format', 'json', 'openapi.json'], dir);
    expect(run.error).toBeUndefined();
    const report = JSON.parse(run.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string }[];
    };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(run.status).toBe(0);
  });

  test('a client generated from it (openapi-typescript) compiles against it', () => {
    const gen = offline(join(BIN, 'openapi-typescript'), ['openapi.json', '-o', 'schema.d.ts'], dir);
    expect(gen.status).toBe(0);
    expect(readFileSync(join(dir, 'schema.d.ts'), 'utf8')).toContain('RerankRequest');
    writeFileSync(
      join(dir, 'usage.ts'),
      `import type { components, paths, webhooks } from './schema';
type S = components['schemas'];
const request: S['RerankRequest'] = { query: 'capital of France?', documents: ['Paris', { text: 'Berlin', title: 'Germany' }], top_n: 1, max_chunks_per_doc: null, normalize: true };
type Answer = paths['/v2/rerank']['post']['responses'][200]['content']['application/json'];
const best = (a: Answer): number => a.results[0].relevance_score + a.meta.billed_units.search_units + a.usage.total_tokens;
const job: paths['/v1/jobs']['post']['requestBody']['content']['application/json'] = { queries: [{ id: 'q1', query: 'q', documents: [{ id: 7, text: 'd' }] }], top_k: 3, webhook: { url: 'https://example.org/h', secret: 'shared-secret' } };
const status: S['Job']['status'] = 'completed';
const line: paths['/v1/jobs/{id}/results']['get']['responses'][200]['content']['application/x-ndjson'] = { query_index: 0, index: 1, score: 0.5 };
const event: webhooks['job.completed']['post']['requestBody']['content']['application/json']['event'] = 'job.completed';
const problem = (e: S['Error']): string => e.error.message + (e.error.field ?? '');
// The generated types are real (not any / never): wrong values do not compile.
// @ts-expect-error query must be a string
const bad1: S['RerankRequest'] = { query: 5, documents: ['a'] };
// @ts-expect-error not a job status
const bad2: S['Job']['status'] = 'done';
// @ts-expect-error relevance_score is a number
const bad3: Answer['results'][number]['relevance_score'] = 'high';
export { request, best, job, status, line, event, problem, bad1, bad2, bad3 };
`,
    );
    const tsc = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--target',
        'ES2022',
        '--module',
        'commonjs',
        '--skipLibCheck',
        'usage.ts',
      ],
      { cwd: dir, encoding: 'utf8', timeout: 120000 },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });
});
