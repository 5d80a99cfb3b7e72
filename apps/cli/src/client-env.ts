/**
 * Where `rerank jobs` finds the API: --url, else RERANK_URL; the key from RERANK_API_KEY (never a
 * flag, so it stays out of shell history and process lists). Both are declared in CONFIG_VARS.
 */
import { RerankClient } from '@rerank/client';
import { CONFIG_VARS } from '../../../libs/jobs/src/config';

function declared(name: string): { name: string; default: string | null } {
  const v = CONFIG_VARS.find((c) => c.name === name);
  if (!v) throw new Error(`${name} is not declared in CONFIG_VARS`);
  return v;
}

export function clientFromEnv(url: string | undefined, env: NodeJS.ProcessEnv = process.env): RerankClient {
  const urlVar = declared('RERANK_URL');
  const keyVar = declared('RERANK_API_KEY');
  const baseUrl = url ?? (env[urlVar.name]?.trim() || (urlVar.default as string));
  try {
    return new RerankClient({ baseUrl, apiKey: env[keyVar.name]?.trim() || undefined });
  } catch (e) {
    throw new UsageError(`${url !== undefined ? '--url' : urlVar.name}: ${(e as Error).message.replace(/^baseUrl: /, '')}`);
  }
}

/** A mistake on the command line: its message is all the user needs. */
export class UsageError extends Error {}
