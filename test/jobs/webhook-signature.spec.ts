import { createHmac, timingSafeEqual } from 'node:crypto';
import { computeSignature, signatureHeader, verifySignature } from '@rerank/jobs';

/** The verification a receiver writes (the README snippet), independent of our helper. */
function receiverVerifies(secret: string, header: string, rawBody: Buffer, now: number): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(now - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhook signatures', () => {
  const secret = 'whsec-test-0123456789';
  const body = Buffer.from(JSON.stringify({ id: 'job_1', status: 'completed', text: 'naïve café ✓' }));

  it('signs "t.body" with HMAC-SHA256, hex', () => {
    const header = signatureHeader(secret, body, 1700000000);
    expect(header).toBe(
      `t=1700000000,v1=${createHmac('sha256', secret)
        .update(`1700000000.${body.toString('utf8')}`)
        .digest('hex')}`,
    );
    expect(computeSignature(secret, 1700000000, body.toString('utf8'))).toBe(computeSignature(secret, 1700000000, body));
    expect(receiverVerifies(secret, header, body, 1700000010)).toBe(true);
  });

  it('verifies, and refuses tampering, wrong secrets, replays and junk', () => {
    const now = 1700000000;
    const header = signatureHeader(secret, body, now);
    expect(verifySignature(secret, header, body, { now })).toEqual({ ok: true, timestamp: now });
    expect(verifySignature(secret, header, Buffer.concat([body, Buffer.from(' ')]), { now }).reason).toBe('signature does not match');
    expect(verifySignature('other-secret-123', header, body, { now }).ok).toBe(false);
    expect(verifySignature(secret, header, body, { now: now + 301 }).reason).toMatch(/more than 300 s/);
    expect(verifySignature(secret, undefined, body).reason).toMatch(/missing/);
    expect(verifySignature(secret, 'v1=abc', body).reason).toMatch(/no t=/);
    expect(verifySignature(secret, `t=${now}`, body, { now }).reason).toMatch(/no v1=/);
    // Several v1 values (secret rotation): any match passes.
    expect(verifySignature(secret, `t=${now},v1=00ff,${header.split(',')[1]}`, body, { now }).ok).toBe(true);
  });
});
