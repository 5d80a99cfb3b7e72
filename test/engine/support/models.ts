import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AnyReranker,
  type Family,
  FlagLLMReranker,
  FlagReranker,
  LayerWiseFlagLLMReranker,
  LightWeightFlagLLMReranker,
  Qwen3Reranker,
  type RerankerOptions,
} from '@rerank/engine';
import { makeTestModel, type MakeTestModelOptions, type TestModelInfo } from '@rerank/model-gen';

/** Generated models for a test file, in a temp dir removed afterwards, and the rerankers to close. */
export class TestModels {
  readonly root = mkdtempSync(join(tmpdir(), 'rerank-engine-test-'));
  private readonly made = new Map<string, Promise<TestModelInfo>>();
  private readonly open: { close(): Promise<void> }[] = [];

  /** Closes `reranker` at cleanup. */
  track<T extends { close(): Promise<void> }>(reranker: T): T {
    this.open.push(reranker);
    return reranker;
  }

  /** A generated model; the same options give the same directory within a test file. */
  get(options: Omit<MakeTestModelOptions, 'outDir'>, name = JSON.stringify(options)): Promise<TestModelInfo> {
    let model = this.made.get(name);
    if (!model) {
      model = makeTestModel({ ...options, outDir: join(this.root, `m${this.made.size}`) });
      this.made.set(name, model);
    }
    return model;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.open.map((r) => r.close()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The reranker class of each generated family. */
export const FAMILY_CLASSES: Record<Family, new (dir: string, options?: RerankerOptions) => AnyReranker> = {
  encoder: FlagReranker,
  llm: FlagLLMReranker,
  layerwise: LayerWiseFlagLLMReranker,
  lightweight: LightWeightFlagLLMReranker,
  qwen3: Qwen3Reranker,
};
