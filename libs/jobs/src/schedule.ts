/**
 * The job system's one scheduling value: a request's or a job's class, tenant, group and weight
 * (the engine's ScoreSchedule with every field set). Made once at the API (from the caller's tenant
 * and Cohere's `priority`, the only place that wire field is read), carried unchanged in the queue
 * payloads (queues.ts) to the worker, and passed as is to the engine's device scheduler. The queue
 * adapters order what waits by the same value. ARCHITECTURE.md, "The fairness model".
 */
import type { ScoreSchedule } from '@rerank/engine';

export type Schedule = Required<Pick<ScoreSchedule, 'class' | 'tenant' | 'weight'>> & Pick<ScoreSchedule, 'group'>;

/** Cohere's `priority` above this weighs as this. */
export const MAX_PRIORITY = 9;

/** The weight of Cohere's `priority` p (0, the default, the most urgent): 1 / (1 + p), p clamped to 0..MAX_PRIORITY. */
export function priorityWeight(priority = 0): number {
  return 1 / (1 + Math.min(MAX_PRIORITY, Math.max(0, Math.floor(priority))));
}

/** A job: batch work of its tenant, the job one group, weighted by its priority against the tenant's other jobs. */
export function jobSchedule(tenant: string, jobId: string, priority = 0): Schedule {
  return { class: 'batch', tenant, group: jobId, weight: priorityWeight(priority) };
}

/** A synchronous request: interactive work of its tenant, weighted by its priority against the tenant's other requests. */
export function requestSchedule(tenant: string, priority = 0): Schedule {
  return { class: 'interactive', tenant, weight: priorityWeight(priority) };
}
