/**
 * The HTTP shapes of the rerank API as the client sends and receives them: the wire types of the
 * API contract (libs/jobs/src/contract/http-bodies.ts, the zod schemas the server validates with
 * and the OpenAPI document is generated from), imported as types only, so the client carries no
 * server code. Requests are the schemas' input types (`null` means absent), answers their output.
 */
import type {
  ErrorBody,
  JobAcceptedBody,
  JobBody,
  JobEndEvent,
  JobEvent,
  JobPartialEvent,
  JobProgressEvent,
  JobRequest,
  JobResults,
  RerankRequest,
  RerankResponse,
  ScoreLine,
  WebhookPayloadBody,
} from '../../jobs/src/contract/http-bodies';

export type { ErrorBody, JobRequest, JobResults, RerankRequest, RerankResponse, ScoreLine };
/** The events of `GET /v1/jobs/{id}/events` (`watchJob`): progress, partial (provisional best k), and the final one. */
export type { JobEvent, JobProgressEvent, JobPartialEvent, JobEndEvent };

/** `GET /v1/jobs/{id}` and the answer of cancel. */
export type Job = JobBody;
/** The 202 answer of `POST /v1/jobs` (the full view is `GET /v1/jobs/{id}`). */
export type JobAccepted = JobAcceptedBody;
export type JobStatus = Job['status'];
export type JobProgress = Job['progress'];
export type JobLinks = Job['links'];
export type RerankResult = RerankResponse['results'][number];
export type QueryResult = JobResults['results'][number];
export type RankedDocument = QueryResult['top_k'][number];
/** One query's provisional best k in a partial event (no documents' texts). */
export type PartialQuery = JobPartialEvent['results'][number];
/** The names of the events that end a job's stream. */
export type JobEndEventName = Extract<JobEvent, { data: JobEndEvent }>['event'];
/** The body of a webhook POST (signed with X-Rerank-Signature when the job has a secret). */
export type WebhookPayload = WebhookPayloadBody;
/** A document or job identifier as the caller gave it. */
export type ItemId = NonNullable<ScoreLine['id']>;

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
