/**
 * Where `rerank jobs` finds the API: --url, else RERANK_URL; the key from RERANK_API_KEY (never a
 * flag, so it stays out of shell history and process lists). Both are the configuration's `client`
 * section (libs/jobs/src/config/sections.ts).
 */
import { RerankClient } from '@rerank/client';
import { readSection } from '@rerank/jobs';

export function clientFromEnv(url: string | undefined, env: NodeJS.ProcessEnv = process.env): RerankClient {
  // --url wins: RERANK_URL is then neither read nor checked.
  const client = readSection('client', url === undefined ? env : { ...env, RERANK_URL: undefined });
  if ('problems' in client) throw new UsageError(client.problems.join('; '));
  try {
    return new RerankClient({ baseUrl: url ?? client.value.url, apiKey: client.value.apiKey });
  } catch (e) {
    throw new UsageError(`${url !== undefined ? '--url' : 'RERANK_URL'}: ${(e as Error).message.replace(/^baseUrl: /, '')}`);
  }
}

/** A mistake on the command line: its message is all the user needs. */
export class UsageError extends Error {}
