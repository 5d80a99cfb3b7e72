/**
 * Where `rerank jobs` finds the API: --url, else RERANK_URL; the key from RERANK_API_KEY (never a
 * flag, so it stays out of shell history and process lists). Both are declared in CONFIG_VARS and
 * read through the configuration schema.
 */
import { RerankClient } from '@rerank/client';
import { CONFIG_VAR, readVar } from '@rerank/jobs';

export function clientFromEnv(url: string | undefined, env: NodeJS.ProcessEnv = process.env): RerankClient {
  const base = readVar(CONFIG_VAR.RERANK_URL, env);
  const key = readVar(CONFIG_VAR.RERANK_API_KEY, env);
  const problems = [...base.problems, ...key.problems];
  if (url === undefined && problems.length) throw new UsageError(problems.join('; '));
  try {
    return new RerankClient({ baseUrl: url ?? base.value ?? CONFIG_VAR.RERANK_URL.default, apiKey: key.value });
  } catch (e) {
    throw new UsageError(`${url !== undefined ? '--url' : 'RERANK_URL'}: ${(e as Error).message.replace(/^baseUrl: /, '')}`);
  }
}

/** A mistake on the command line: its message is all the user needs. */
export class UsageError extends Error {}
