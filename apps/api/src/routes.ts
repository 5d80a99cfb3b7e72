/**
 * Every route of the API, declared once: the controllers take their method's path from here
 * (`nestPath`), the OpenAPI document its operations (openapi.ts: the keys are the operation ids),
 * and the error answers which routes add Cohere's top-level `message` (`messageRoutes`).
 */
export interface Route {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI's form: `/v1/jobs/{id}`. */
  path: string;
  /** Clients that read errors in Cohere's shape (Cohere, vLLM, Infinity): the answer adds a top-level `message`. */
  cohereErrors?: true;
}

export const ROUTES = {
  rerankV1: { method: 'post', path: '/v1/rerank', cohereErrors: true },
  rerankV2: { method: 'post', path: '/v2/rerank', cohereErrors: true },
  createJob: { method: 'post', path: '/v1/jobs' },
  listJobs: { method: 'get', path: '/v1/jobs' },
  getJob: { method: 'get', path: '/v1/jobs/{id}' },
  cancelJob: { method: 'delete', path: '/v1/jobs/{id}' },
  getJobResults: { method: 'get', path: '/v1/jobs/{id}/results' },
  getJobEvents: { method: 'get', path: '/v1/jobs/{id}/events' },
  /** The job page for a browser (job-page.controller.ts) and its script and style: no key, no job data. */
  jobPage: { method: 'get', path: '/jobs/{id}' },
  jobPageScript: { method: 'get', path: '/assets/job-page.js' },
  jobPageStyle: { method: 'get', path: '/assets/job-page.css' },
  listModels: { method: 'get', path: '/v1/models' },
  live: { method: 'get', path: '/health/live' },
  ready: { method: 'get', path: '/health/ready' },
  rerankCompat: { method: 'post', path: '/rerank', cohereErrors: true },
  /** Infinity's clients append /rerank to their base URL: theirs is `<this API>/infinity`. */
  rerankInfinity: { method: 'post', path: '/infinity/rerank', cohereErrors: true },
  teiInfo: { method: 'get', path: '/info' },
  score: { method: 'post', path: '/score', cohereErrors: true },
  scoreV1: { method: 'post', path: '/v1/score', cohereErrors: true },
} as const satisfies Record<string, Route>;

export type OperationId = keyof typeof ROUTES;

/** A route's path as Nest's decorators take it: `v1/jobs/:id`. */
export function nestPath(route: Route): string {
  return route.path.slice(1).replace(/\{(\w+)\}/g, ':$1');
}

/** Paths whose error answers add Cohere's top-level `message`. */
export const messageRoutes: ReadonlySet<string> = new Set(
  Object.values(ROUTES as Record<string, Route>)
    .filter((r) => r.cohereErrors)
    .map((r) => r.path),
);
