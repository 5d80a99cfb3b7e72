import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ModelLoadError } from '../errors';
import { FP16_CANDIDATES, GRAPH_CANDIDATES, METADATA_FILES, QUANTIZED_CANDIDATES } from './model-files';

export interface HubOptions {
  cacheDir: string;
  endpoint?: string;
  token?: string;
  revision?: string;
  offline?: boolean;
  /** Also fetch the fp16 / int8 graphs when the repository has them. */
  withFp16?: boolean;
  withQuantized?: boolean;
}

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/**
 * Cache layout, as the Hugging Face hub client keeps it: `models--org--name/refs/<revision>` holds
 * the commit, `models--org--name/snapshots/<commit>/` the files. A snapshot is immutable, so a file
 * already present is never fetched again.
 */
function repoCacheDir(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.replace(/\//g, '--')}`);
}

/** The cached snapshot of a repository revision, when one is complete. */
export function cachedSnapshot(cacheDir: string, repoId: string, revision = 'main'): string | undefined {
  const repoDir = repoCacheDir(cacheDir, repoId);
  const ref = join(repoDir, 'refs', revision);
  const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : revision;
  const snapshot = join(repoDir, 'snapshots', commit);
  return existsSync(join(snapshot, '.complete')) ? snapshot : undefined;
}

export function isRepoId(name: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(name);
}

/** Downloads what the engine needs of a hub repository into the cache; returns the snapshot directory. */
export async function downloadModel(repoId: string, options: HubOptions): Promise<string> {
  const revision = options.revision ?? 'main';
  const cached = cachedSnapshot(options.cacheDir, repoId, revision);
  if (cached) return cached;
  if (options.offline) {
    throw new ModelLoadError(
      `${repoId}@${revision} is not in the cache ${options.cacheDir} and offline mode (HF_HUB_OFFLINE / offline) refuses downloads; ` +
        `download it once online, or put the model directory at ${join(options.cacheDir, repoId)}`,
    );
  }
  const endpoint = (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};

  const infoUrl = `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
  const info = (await (await hubFetch(infoUrl, headers, repoId)).json()) as { sha?: string; siblings?: { rfilename: string }[] };
  const commit = info.sha ?? revision;
  const available = new Set((info.siblings ?? []).map((s) => s.rfilename));

  const graph = GRAPH_CANDIDATES.find((f) => available.has(f));
  if (!graph) {
    throw new ModelLoadError(
      `${repoId}@${revision} on ${endpoint} has no ONNX graph (looked for ${GRAPH_CANDIDATES.join(', ')}); ` +
        `export the checkpoint with scripts/export-onnx.py (docs/models.md) and publish or point to that directory`,
    );
  }
  const wanted = new Set<string>(METADATA_FILES.filter((f) => available.has(f)));
  if (!wanted.has('tokenizer.json')) throw new ModelLoadError(`${repoId}@${revision} on ${endpoint} has no tokenizer.json`);
  const addGraph = (file: string | undefined) => {
    if (!file) return;
    wanted.add(file);
    // Graphs over 2 GB keep their weights in external data files next to them.
    for (const f of available) if (f.startsWith(`${file}_data`) || f.startsWith(`${file}.data`)) wanted.add(f);
  };
  addGraph(graph);
  if (options.withFp16) addGraph(FP16_CANDIDATES.find((f) => available.has(f)));
  if (options.withQuantized) addGraph(QUANTIZED_CANDIDATES.find((f) => available.has(f)));

  const snapshot = join(repoCacheDir(options.cacheDir, repoId), 'snapshots', commit);
  const fetchFile = async (file: string) => {
    const target = join(snapshot, file);
    if (existsSync(target)) return;
    const url = `${endpoint}/${repoId}/resolve/${encodeURIComponent(commit)}/${file}`;
    const res = await hubFetch(url, headers, repoId);
    mkdirSync(dirname(target), { recursive: true });
    const partial = `${target}.partial-${process.pid}`;
    try {
      await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(partial));
      renameSync(partial, target);
    } finally {
      rmSync(partial, { force: true });
    }
  };
  for (const file of [...wanted].filter((f) => !f.endsWith('.onnx') && !/\.onnx[._]data/.test(f))) await fetchFile(file);
  // Light-weight models list other compression graphs in reranker.json.
  const rerankerJson = join(snapshot, 'reranker.json');
  if (existsSync(rerankerJson)) {
    const variants = (JSON.parse(readFileSync(rerankerJson, 'utf8')) as { variants?: { file?: string }[] }).variants ?? [];
    for (const v of variants) if (typeof v.file === 'string' && available.has(v.file)) addGraph(v.file);
  }
  for (const file of [...wanted].filter((f) => f.endsWith('.onnx') || /\.onnx[._]data/.test(f))) await fetchFile(file);

  writeFileSync(join(snapshot, '.complete'), `${new Date().toISOString()}\n`);
  mkdirSync(join(repoCacheDir(options.cacheDir, repoId), 'refs'), { recursive: true });
  writeFileSync(join(repoCacheDir(options.cacheDir, repoId), 'refs', revision), commit);
  return snapshot;
}

async function hubFetch(url: string, headers: Record<string, string>, repoId: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (e) {
    throw new ModelLoadError(
      `cannot reach the model hub for ${repoId} (${url}): ${(e as Error).message}; set HF_ENDPOINT, or use a local directory`,
    );
  }
  if (res.ok && res.body) return res;
  if (res.status === 401 || res.status === 403) {
    throw new ModelLoadError(
      `the hub refused ${url} (${res.status}): ${repoId} is private or gated; set HF_TOKEN (or hubToken) to a token with access`,
    );
  }
  if (res.status === 404) throw new ModelLoadError(`the hub has no ${url} (404): check the model id ${repoId} and the revision`);
  throw new ModelLoadError(`the hub answered ${res.status} for ${url}`);
}
