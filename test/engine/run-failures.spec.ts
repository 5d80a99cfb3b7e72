/**
 * No silent failures: a graph that loads but fails inside the runtime (here a Reshape to the shape of
 * an export's sample input, as a frozen-shape export makes it) gives an error naming the model in the
 * engine, a non-zero exit with that error from `rerank score` (never exit 0 with missing scores, never
 * an abort), and a failed job naming the model from the worker, which keeps serving.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DataType, GraphBuilder, makeTestModel } from '@rerank/model-gen';
import { AutoReranker, ModelRunError } from '@rerank/engine';
import { Cluster } from '../support/cluster';
import { waitFor } from '../support/processes';
import { TestModels } from './support/models';

jest.setTimeout(180_000);

const models = new TestModels();
let broken: string;
let healthy: string;
const pairs: [string, string][] = Array.from({ length: 42 }, (_, i) => [`query ${i % 5}`, `passage number ${i} about things`]);

/** A generated LLM reranker whose graph reshapes input_ids to [1, 7], the sample's shape: any other batch fails. */
async function frozenShapeModel(outDir: string): Promise<string> {
  const info = await makeTestModel({ family: 'llm', outDir });
  const b = new GraphBuilder({ name: 'frozen_shape' });
  const ids = b.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  b.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  b.input('position_ids', DataType.INT64, ['batch', 'sequence']);
  const frozen = b.op('Reshape', [b.castFloat(ids), b.constInt64([1, 7])]);
  b.output('scores', DataType.FLOAT, ['batch']);
  b.named('scores', 'ReduceSum', [frozen, b.constInt64([1])], { keepdims: 0 });
  b.writeTo(info.files.model);
  return info.dir;
}

beforeAll(async () => {
  broken = await frozenShapeModel(join(models.root, 'broken'));
  healthy = (await models.get({ family: 'encoder' })).dir;
});

afterAll(() => models.cleanup());

test('engine: the call rejects with a ModelRunError naming the graph, device and batch; close() then resolves', async () => {
  const reranker = await AutoReranker.fromFinetuned(broken, { devices: 'cpu' });
  const failure = (await reranker.computeScore(pairs).catch((e: unknown) => e)) as ModelRunError;
  expect(failure).toBeInstanceOf(ModelRunError);
  expect(failure.graph).toBe(join(broken, 'onnx', 'model.onnx'));
  expect(failure.device).toBe('cpu');
  expect(failure.message).toContain(join(broken, 'onnx', 'model.onnx'));
  expect(failure.message).toMatch(/failed on cpu running a batch of \d+ × \d+ tokens: .*Reshape/);
  // Another call fails the same way (nothing left waiting), and closing waits for the runs in flight.
  await expect(reranker.computeScore(pairs.slice(0, 3))).rejects.toBeInstanceOf(ModelRunError);
  await reranker.close();
});

test('rerank score: a non-zero exit naming the model, no scores, on every one of 5 runs', () => {
  const input = pairs.map(([query, passage]) => JSON.stringify({ query, passage })).join('\n') + '\n';
  for (let run = 0; run < 5; run++) {
    const r = spawnSync(
      process.execPath,
      [join(__dirname, '..', '..', 'bin', 'rerank.js'), 'score', '--model', broken, '--devices', 'cpu'],
      {
        input,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect({ run, status: r.status, signal: r.signal, stdout: r.stdout }).toEqual({ run, status: 2, signal: null, stdout: '' });
    expect(r.stderr).toContain(`rerank score: ${join(broken, 'onnx', 'model.onnx')} failed on cpu running a batch of`);
    // The error is the user's to act on: its message, no stack trace.
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }
});

describe('worker', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({
      models: [
        { name: 'broken', path: broken, family: 'llm' },
        { name: 'healthy', path: healthy, family: 'encoder' },
      ],
      env: { RERANK_THREADS: '1' },
    });
    await cluster.startWorkers('cpu');
  }, 120_000);

  afterAll(() => cluster?.stop());

  test("a job on the failing graph fails with an error naming the model (not the server's path); the worker keeps serving", async () => {
    const created = await cluster.client.post('/v1/jobs', { model: 'broken', query: 'what is ai', documents: pairs.map((p) => p[1]) });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const job = await waitFor(
      `job ${id} failed`,
      async () => {
        const s = await cluster.client.get(`/v1/jobs/${id}`);
        return s.body.status === 'failed' ? (s.body as { error: { message: string } }) : undefined;
      },
      60_000,
      200,
    );
    expect(job.error.message).toMatch(/model "broken" failed on cpu running a batch of \d+ × \d+ tokens: .*Reshape/);
    expect(job.error.message).not.toContain(broken);
    // The sync route says the same, and the other model on the same worker still scores.
    const sync = await cluster.client.post('/v1/rerank', { model: 'broken', query: 'what is ai', documents: ['a', 'b'] });
    expect(sync.status).toBeGreaterThanOrEqual(400);
    expect(sync.text).toContain('model \\"broken\\" failed on cpu');
    const ok = await cluster.client.post('/v1/rerank', { model: 'healthy', query: 'what is ai', documents: ['artificial intelligence'] });
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(1);
  });
});
