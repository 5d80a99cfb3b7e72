/**
 * The maintenance LTS: the project as built (dist/, on the Node that runs the tests: 24 in CI) starts and
 * scores on Node 22 too. scripts/install-node.sh 22 fetches the pinned official Node 22 from the npm
 * registry into .cache/node/ (once); onnxruntime-node's native binding (N-API) loads there as it is.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '@rerank/harness';
import { freePort } from '@rerank/harness';
import { ApiClient } from '../support/http';
import { referenceScores, removeTestModels, testEncoderDir } from '../support/model';
import { ROOT, waitForHttp, stackEnv } from '../support/processes';

jest.setTimeout(300000);

describe('Node 22 LTS', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rerank-node22-'));
  let node22 = '';
  afterAll(() => {
    removeTestModels();
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeAll(() => {
    const line = execFileSync(join(ROOT, 'scripts/install-node.sh'), ['22'], { encoding: 'utf8' });
    const bin = /^export PATH="([^"]+)\/bin:\$PATH"$/m.exec(line)?.[1];
    if (!bin) throw new Error(`scripts/install-node.sh 22 printed no PATH line: ${line}`);
    node22 = join(bin, 'bin', 'node');
  });

  it('is Node 22, and loads onnxruntime-node there', () => {
    expect(execFileSync(node22, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\.\d+\.\d+\n$/);
    const backends = execFileSync(node22, ['-p', "require('onnxruntime-node').listSupportedBackends().map((b) => b.name).join()"], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(backends.split(',')).toContain('cpu');
  });

  it('scores with the command as the engine does on this Node', async () => {
    const dir = await testEncoderDir();
    const input = join(dataDir, 'pairs.jsonl');
    writeFileSync(
      input,
      ['artificial intelligence', 'pasta'].map((p) => JSON.stringify({ query: 'what is ai', passage: p })).join('\n') + '\n',
    );
    const out = execFileSync(node22, [join(ROOT, 'bin/rerank.js'), 'score', '--model', dir, input], { encoding: 'utf8' });
    const scores = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { score: number }).score);
    expect(scores).toEqual(await referenceScores(dir, 'what is ai', ['artificial intelligence', 'pasta']));
  });

  it('npm start’s stack runs on Node 22: every app starts, a request is scored, SIGTERM stops it', async () => {
    const port = await freePort();
    const stack = startProcess({
      name: 'stack on node 22',
      command: node22,
      args: [join(ROOT, 'dist/apps/stack/src/main.js')],
      env: stackEnv(dataDir, port),
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 200, 120000, stack);
      const api = new ApiClient(`http://127.0.0.1:${port}`);
      const r = await api.post('/v2/rerank', {
        model: 'generated-test-reranker',
        query: 'what is ai',
        documents: ['artificial intelligence', 'pasta'],
      });
      expect(r.status).toBe(200);
      const raw = await referenceScores(join(dataDir, 'models', 'generated-test-reranker'), 'what is ai', [
        'artificial intelligence',
        'pasta',
      ]);
      const byIndex = new Map((r.body.results as { index: number; relevance_score: number }[]).map((x) => [x.index, x.relevance_score]));
      expect(byIndex.size).toBe(2);
      raw.forEach((s, i) => expect(byIndex.get(i)).toBeCloseTo(1 / (1 + Math.exp(-s)), 12));
      expect(stack.output()).toMatch(/\[workers\] .*"msg":"ready: 1 model\(s\) on cpu/);
    } finally {
      expect(await stack.stop(60000)).toBe(0);
    }
  });
});
