/** The generated test models the job tests serve: made fresh per test process (it takes milliseconds). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoReranker, type FlagReranker } from '@rerank/engine';
import { makeTestModel } from '@rerank/model-gen';

export const TEST_MODEL_SEED = 7;

const made = new Map<string, Promise<string>>();
const roots: string[] = [];

/** Removes the models this test file made (call in afterAll). */
export function removeTestModels(): void {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  made.clear();
}

function generated(family: 'encoder' | 'layerwise'): Promise<string> {
  let dir = made.get(family);
  if (!dir) {
    const root = mkdtempSync(join(tmpdir(), 'rerank-jobs-model-'));
    roots.push(root);
    const out = join(root, family);
    dir = makeTestModel({ family, outDir: out, preset: 'tiny', seed: TEST_MODEL_SEED }).then((info) => info.dir);
    made.set(family, dir);
  }
  return dir;
}

export const testEncoderDir = () => generated('encoder');
export const testLayerwiseDir = () => generated('layerwise');

/** The engine in this process on a model directory: the reference the job tests compare the service's scores with. */
export async function referenceEngine(dir: string): Promise<FlagReranker> {
  return (await AutoReranker.fromFinetuned(dir, { devices: ['cpu'], intraOpNumThreads: 1 })) as FlagReranker;
}

/** The in-process engine's scores of one query against documents (engine opened and closed here). */
export async function referenceScores(dir: string, query: string, documents: readonly string[]): Promise<number[]> {
  const engine = await referenceEngine(dir);
  try {
    return await engine.computeScore(documents.map((d) => [query, d] as [string, string]));
  } finally {
    await engine.close();
  }
}
