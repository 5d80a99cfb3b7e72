import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ModelLoadError } from '../errors';
import { cachedSnapshot, downloadModel, isRepoId } from './hub';
import { GRAPH_CANDIDATES, isModelDir } from './model-files';

export interface ResolveOptions {
  cacheDir?: string | null;
  revision?: string;
  hubEndpoint?: string;
  hubToken?: string;
  offline?: boolean;
  withFp16?: boolean;
  withQuantized?: boolean;
}

/** Environment variables the engine reads, for docs and deployment checks. */
export const ENGINE_ENV_VARS: readonly { name: string; description: string }[] = [
  { name: 'RERANK_CACHE_DIR', description: 'where model names are looked up and hub downloads cached (default ~/.cache/rerank)' },
  { name: 'HF_ENDPOINT', description: 'Hugging Face-compatible hub to download from (default https://huggingface.co)' },
  { name: 'HF_TOKEN', description: 'token for private or gated hub models' },
  { name: 'HF_HUB_OFFLINE', description: '1: never download' },
  { name: 'RERANK_OFFLINE', description: '1: never download (same as HF_HUB_OFFLINE)' },
];

/** An environment variable, with an empty value meaning unset. */
function env(name: string): string | undefined {
  return process.env[name] || undefined;
}

/** `cacheDir`, else `RERANK_CACHE_DIR`, else `~/.cache/rerank`. */
export function defaultCacheDir(cacheDir?: string | null): string {
  return cacheDir ?? env('RERANK_CACHE_DIR') ?? join(homedir(), '.cache', 'rerank');
}

function envFlag(name: string): boolean {
  const v = (process.env[name] ?? '').toLowerCase();
  return v === '1' || v === 'true' || v === 'yes' || v === 'on';
}

/**
 * A model argument to a local directory: an existing directory as is; otherwise a name looked up
 * under the cache directory (`<cacheDir>/<name>`, or a hub snapshot there); otherwise a download
 * from a Hugging Face-compatible hub into the cache.
 */
export async function resolveModelDir(nameOrPath: string, options: ResolveOptions = {}): Promise<string> {
  if (existsSync(nameOrPath) && statSync(nameOrPath).isDirectory()) {
    if (!isModelDir(nameOrPath))
      throw new ModelLoadError(
        `${resolve(nameOrPath)} is not a model directory: expected ${GRAPH_CANDIDATES.join(' or ')} with tokenizer.json beside it`,
      );
    return resolve(nameOrPath);
  }
  if (isAbsolute(nameOrPath) || nameOrPath.startsWith('.')) throw new ModelLoadError(`model directory ${nameOrPath} does not exist`);
  const cacheDir = defaultCacheDir(options.cacheDir);
  for (const candidate of [join(cacheDir, nameOrPath), join(cacheDir, nameOrPath.split('/').pop() ?? nameOrPath)]) {
    if (isModelDir(candidate)) return candidate;
  }
  if (!isRepoId(nameOrPath))
    throw new ModelLoadError(`${JSON.stringify(nameOrPath)} is neither a model directory nor a model id like "BAAI/bge-reranker-base"`);
  const revision = options.revision ?? 'main';
  const cached = cachedSnapshot(cacheDir, nameOrPath, revision);
  if (cached) return cached;
  return downloadModel(nameOrPath, {
    cacheDir,
    revision,
    endpoint: options.hubEndpoint ?? env('HF_ENDPOINT'),
    token: options.hubToken ?? env('HF_TOKEN'),
    offline: options.offline ?? (envFlag('HF_HUB_OFFLINE') || envFlag('RERANK_OFFLINE')),
    withFp16: options.withFp16,
    withQuantized: options.withQuantized,
  });
}
