/**
 * Webhook signing: `X-Rerank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Receivers recompute the HMAC over the raw body bytes they got, compare in constant time and
 * refuse old timestamps (replays).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Rerank-Signature';
export const DELIVERY_HEADER = 'X-Rerank-Delivery';
export const EVENT_HEADER = 'X-Rerank-Event';
export const ATTEMPT_HEADER = 'X-Rerank-Attempt';
/** Default tolerance of `verifySignature` for the timestamp. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function computeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, body)}`;
}

export interface VerifyResult {
  ok: boolean;
  reason?: string;
  timestamp?: number;
}

/** Checks a signature header against the raw body; `now` and `toleranceSeconds` bound replays. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  options: { toleranceSeconds?: number; now?: number } = {},
): VerifyResult {
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d+$/.test(v)) t = Number(v);
    if (k === 'v1') candidates.push(v);
  }
  if (t === undefined) return { ok: false, reason: 'no t=<timestamp> in the signature header' };
  if (candidates.length === 0) return { ok: false, reason: 'no v1=<signature> in the signature header' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - t) > tolerance) return { ok: false, reason: `timestamp ${t} is more than ${tolerance} s from now`, timestamp: t };
  const expected = Buffer.from(computeSignature(secret, t, body), 'hex');
  for (const c of candidates) {
    const given = Buffer.from(c, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true, timestamp: t };
  }
  return { ok: false, reason: 'signature does not match', timestamp: t };
}
