import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeTestModel, type Family, type MakeTestModelOptions, type PresetName } from '@rerank/model-gen';

export interface BenchModel {
  dir: string;
  family: Family;
  preset: PresetName;
  /** Graph variant: `fused` (onnxruntime contrib operators in onnx/model.onnx), `int8` (adds onnx/model_quantized.onnx). */
  variant?: ModelVariantName;
  parameterCount: number;
  /** Generated in this run (seconds), or reused from the cache (0). */
  generatedSeconds: number;
}

/** A fingerprint of the generator's sources: a cached model is reused only if the generator is unchanged. */
function generatorFingerprint(): string {
  const hash = createHash('sha1');
  const root = resolve(__dirname, '../../../libs/model-gen/src');
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js)$/.test(name)) hash.update(name).update(readFileSync(path));
    }
  };
  walk(root);
  return hash.digest('hex').slice(0, 12);
}

let fingerprint: string | undefined;

/**
 * `fused`: the encoder blocks as onnxruntime contrib operators; `int8`: the plain graph plus its int8
 * variant; `modernbert`: a ModernBERT-shaped encoder; `qwen3`: a Qwen3-shaped reranker with the pooled
 * l_yes − l_no output the export recipe writes.
 */
export type ModelVariantName = 'plain' | 'fused' | 'int8' | 'modernbert' | 'qwen3';

const VARIANT_OPTIONS: Record<ModelVariantName, Partial<MakeTestModelOptions>> = {
  plain: {},
  fused: { fused: true },
  int8: { quantized: true },
  modernbert: { encoderStyle: 'modernbert' },
  qwen3: { qwen3Output: 'scores' },
};

/**
 * A generated model of the given family and preset under `cacheDir`, reused when a previous run
 * made it with the same generator sources (`.bench-model.json` marks a complete directory).
 */
export async function benchModel(
  cacheDir: string,
  family: Family,
  preset: PresetName,
  seed = 1,
  variant: ModelVariantName = 'plain',
): Promise<BenchModel> {
  fingerprint ??= generatorFingerprint();
  const dir = resolve(cacheDir, `${family}-${preset}-seed${seed}${variant === 'plain' ? '' : `-${variant}`}`);
  const v = variant === 'plain' ? {} : { variant };
  const marker = join(dir, '.bench-model.json');
  if (existsSync(marker)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as { fingerprint: string; parameterCount: number };
    if (info.fingerprint === fingerprint) return { dir, family, preset, ...v, parameterCount: info.parameterCount, generatedSeconds: 0 };
  }
  rmSync(dir, { recursive: true, force: true });
  const info = await makeTestModel({
    family,
    outDir: dir,
    preset,
    seed,
    ...VARIANT_OPTIONS[variant],
  });
  writeFileSync(marker, JSON.stringify({ fingerprint, family, preset, seed, variant, parameterCount: info.parameterCount }) + '\n');
  return { dir, family, preset, ...v, parameterCount: info.parameterCount, generatedSeconds: info.elapsedMs / 1000 };
}
