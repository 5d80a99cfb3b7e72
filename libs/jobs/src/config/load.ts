/**
 * The configuration of a process: every section read from the environment at once, checked across
 * sections, typed by zod's output (`RerankConfig`). Errors name the variable; all of them are
 * reported together, after the `RERANK_*` variables no process declares.
 */
import { z } from 'zod';
import { useClusterKeys } from '../store/keys';
import { parseRedisUrl } from '../redis';
import { ConfigError, declaredVars, type Env, issueMessages, rawValue, sectionInputs, unknownVariables } from './env';
import { SECTIONS } from './sections';
import { checkSlotModels } from './structured-values';

type Sections = typeof SECTIONS;

/** Every declared variable, in the docs' order, with its section (`worker`: read as `config.worker`). */
export const CONFIG_VARS = declaredVars(SECTIONS);

const shape = Object.fromEntries(Object.entries(SECTIONS).map(([key, s]) => [key, s.schema])) as {
  [K in keyof Sections]: Sections[K]['schema'];
};

/** All sections, then what concerns several: checks, and the worker's models defaulting to every configured one. */
const CONFIG = z.object(shape).transform((c, ctx) => {
  const names = c.models.list.map((m) => m.name);
  const problem = (message: string, path: string[] = []) => ctx.addIssue({ code: 'custom', message, path, input: c });
  const { maxQueuedPairs } = c.backpressure;
  if (maxQueuedPairs > 0 && maxQueuedPairs < c.limits.maxPairs)
    problem(
      `RERANK_MAX_QUEUED_PAIRS=${maxQueuedPairs} is below RERANK_MAX_PAIRS=${c.limits.maxPairs}: a job of the largest size could never be accepted; raise it (or 0 to turn the check off)`,
    );
  for (const admin of c.api.adminKeys) {
    const same = c.api.keys.find((k) => k.key === admin.key);
    if (same)
      problem(
        `the key labelled "${admin.label}" is also the API key "${same.label}" of RERANK_API_KEYS; give the dashboard a key of its own`,
        ['api', 'adminKeys'],
      );
  }
  if (names.length > 0) {
    for (const p of checkSlotModels(c.worker.devices, c.models.list)) problem(p);
    for (const w of c.worker.models ?? [])
      if (!names.includes(w)) problem(`"${w}" is not a model of RERANK_MODELS (${names.join(', ')})`, ['worker', 'models']);
  }
  return { ...c, worker: { ...c.worker, models: c.worker.models ?? names } };
});

export type RerankConfig = z.output<typeof CONFIG>;
export type Limits = RerankConfig['limits'];

export interface LoadOptions {
  /** Refuse to start without RERANK_MODELS (workers, API, aggregator); the stack generates one instead. */
  requireModels?: boolean;
}

/** Reads and checks every variable; throws ConfigError listing all problems. */
export function loadConfig(env: Env = process.env, options: LoadOptions = {}): RerankConfig {
  const problems = unknownVariables(
    CONFIG_VARS.map((v) => v.name),
    env,
  );
  const parsed = CONFIG.safeParse(sectionInputs(SECTIONS, env));
  if (!parsed.success) problems.push(...issueMessages(parsed.error, SECTIONS, env));
  if (options.requireModels && rawValue(env, SECTIONS.models.vars.list.name) === undefined)
    problems.push(
      'RERANK_MODELS: not set; list the models to serve, e.g. RERANK_MODELS=bge=BAAI/bge-reranker-base (or run `npm start`, which serves a generated test model)',
    );
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  // A cluster URL switches this process to hash-tagged key names (store/keys.ts) before any key is spelled.
  if (parseRedisUrl(parsed.data.redis.url).kind === 'cluster') useClusterKeys();
  return parsed.data;
}

/**
 * For a process's entry point: the configuration, or the problems logged and exit code 2
 * (a configuration error is the operator's to fix, not a crash).
 */
export function loadConfigOrExit(log: { error(message: string): void }, options: LoadOptions = {}, env: Env = process.env): RerankConfig {
  try {
    return loadConfig(env, options);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    log.error(e.message);
    process.exit(2);
  }
}

/** One section alone, for a process that reads nothing else (the CLI's client, the test harness): its values or its problems. */
export function readSection<K extends keyof Sections>(
  key: K,
  env: Env = process.env,
): { value: z.output<Sections[K]['schema']> } | { problems: string[] } {
  const sections = { [key]: SECTIONS[key] } as Pick<Sections, K>;
  const parsed = z.object({ [key]: SECTIONS[key].schema }).safeParse(sectionInputs(sections, env));
  if (!parsed.success) return { problems: issueMessages(parsed.error, sections, env) };
  return { value: (parsed.data as Record<K, z.output<Sections[K]['schema']>>)[key] };
}

/** Configuration without secrets, for start-up logs. */
export function describeConfig(c: RerankConfig): Record<string, unknown> {
  const redis = (() => {
    try {
      const u = new URL(c.redis.url);
      if (u.password) u.password = '***';
      return u.toString();
    } catch {
      return c.redis.url;
    }
  })();
  const { secretKey, allowedHosts, ...webhook } = c.webhook;
  return {
    redis,
    models: c.models.list.map((m) => `${m.name}=${m.path}${m.family ? ` (${m.family})` : ''}`),
    worker: { ...c.worker, devices: c.worker.devices.map((d) => (d.models ? `${d.device}=${d.models.join('+')}` : d.device)) },
    api: {
      keys: c.api.keys.map((k) => k.label),
      adminKeys: c.api.adminKeys.map((k) => k.label),
      trustProxy: c.api.trustProxy === null ? false : c.api.trustProxy === 'all' ? 'all' : c.api.trustProxy.size,
    },
    limits: c.limits,
    rateLimits: c.rateLimits,
    backpressure: c.backpressure,
    shard: c.shard,
    queue: c.queue,
    jobs: c.jobs,
    webhook: { ...webhook, allowedHosts: allowedHosts.size, secretsEncrypted: secretKey !== undefined },
    infraRetryMs: c.redis.infraRetryMs,
  };
}
