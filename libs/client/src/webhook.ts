/**
 * Webhook signature checks for receivers: the server's own signing module, imported by path so
 * that the client pulls in nothing but node:crypto (not the job system's Redis and queue code).
 */
import {
  DEFAULT_TOLERANCE_SECONDS,
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  verifySignature,
  type VerifyResult,
} from '../../jobs/src/webhook';

export { DEFAULT_TOLERANCE_SECONDS, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, type VerifyResult };

/**
 * Checks `X-Rerank-Signature` against the raw body exactly as received (not re-serialized JSON).
 * `ok` is false with a `reason` for a missing, malformed, stale (beyond `toleranceSeconds`,
 * default 300) or wrong signature.
 */
export function verifyWebhookSignature(
  secret: string,
  signatureHeader: string | undefined,
  rawBody: string | Buffer,
  options: { toleranceSeconds?: number; now?: number } = {},
): VerifyResult {
  return verifySignature(secret, signatureHeader, rawBody, options);
}
