/**
 * Model placement per device on real processes: one launcher (one node) with two CPU devices, each
 * serving a different generated model (`--devices cpu=first,cpu=second`). Each worker loads and
 * advertises only its device's model, /v1/models shows each model on its own worker, and a
 * synchronous request for each model answers with that model's in-process engine scores. A device
 * naming a model RERANK_MODELS does not configure refuses to start (on --devices and RERANK_DEVICES).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FlagReranker } from '@rerank/engine';
import { makeTestModel } from '@rerank/model-gen';
import { Cluster } from '../support/cluster';
import { removeTestModels, testEncoderDir, referenceEngine } from '../support/model';
import { spawnApp } from '../support/processes';

jest.setTimeout(300000);

let root: string;
let cluster: Cluster;
const engines: Record<string, FlagReranker> = {};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'rerank-launcher-placement-'));
  const first = await testEncoderDir();
  // Another seed: other weights, so the two models' scores differ and a mix-up shows.
  const second = (await makeTestModel({ family: 'encoder', outDir: join(root, 'second'), preset: 'tiny', seed: 8 })).dir;
  for (const [name, dir] of Object.entries({ first, second })) engines[name] = await referenceEngine(dir);
  cluster = await Cluster.start({
    models: [
      { name: 'first', path: first },
      { name: 'second', path: second },
    ],
    env: { RERANK_THREADS: '2' },
  });
  await cluster.startWorkers('cpu=first,cpu=second');
});

afterAll(async () => {
  await cluster?.stop();
  await Promise.allSettled(Object.values(engines).map((e) => e.close()));
  removeTestModels();
  if (root) rmSync(root, { recursive: true, force: true });
});

it('each device worker loads and advertises only its own model', async () => {
  const workers = await cluster.readyWorkers();
  expect(workers.map((w) => w.models.map((m) => m.name)).sort()).toEqual([['first'], ['second']]);
  expect(workers.map((w) => w.device)).toEqual(['cpu', 'cpu']);
  expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
  expect(cluster.launcher!.output()).toMatch(/starting 2 worker\(s\): cpu=first \(1 thread\), cpu=second \(1 thread\)/);
});

it('/v1/models shows each model on its own worker', async () => {
  const workers = await cluster.readyWorkers();
  const idOf = (model: string) => workers.find((w) => w.models.some((m) => m.name === model))!.id;
  const r = await cluster.client.get('/v1/models');
  expect(r.status).toBe(200);
  const byId = Object.fromEntries(r.body.data.map((m: { id: string }) => [m.id, m]));
  for (const model of ['first', 'second'])
    expect(byId[model]).toMatchObject({ ready: true, workers: [{ id: idOf(model), device: 'cpu' }], devices: ['cpu'] });
  expect(idOf('first')).not.toBe(idOf('second'));
});

it("a synchronous request for each model answers with that model's engine scores", async () => {
  const query = 'river crossing';
  const documents = ['a river crossing at dawn', 'stone bridge', 'crossing', 'unrelated text about markets'];
  const scores: Record<string, number[]> = {};
  for (const model of ['first', 'second']) {
    const r = await cluster.client.post('/v1/rerank', { model, query, documents, normalize: false });
    expect(r.status).toBe(200);
    const byIndex = new Map(r.body.results.map((x: { index: number; relevance_score: number }) => [x.index, x.relevance_score]));
    scores[model] = documents.map((_, i) => byIndex.get(i) as number);
    expect(scores[model]).toEqual(await engines[model].computeScore(documents.map((d) => [query, d] as [string, string])));
  }
  expect(scores.first).not.toEqual(scores.second);
});

describe('a device naming a model that RERANK_MODELS does not configure refuses to start', () => {
  it.each([
    ['--devices', (env: Record<string, string>) => spawnApp('launcher', env, ['--devices', 'cpu=first,cpu=secnd'])],
    ['RERANK_DEVICES', (env: Record<string, string>) => spawnApp('launcher', { ...env, RERANK_DEVICES: 'cpu=first,cpu=secnd' })],
  ])('%s', async (name, start) => {
    const launcher = start({ ...cluster.env, HEALTH_PORT: '0' });
    expect(await launcher.exited).toBe(2);
    // The launcher logs JSON lines: the error line's message lists every problem.
    const errors = launcher
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string })
      .filter((l) => l.level === 'error');
    expect(errors.map((e) => e.msg)).toEqual([
      `invalid configuration:\n  - ${name}: cpu names model "secnd", which is not a model of RERANK_MODELS (first, second)`,
    ]);
  });
});
