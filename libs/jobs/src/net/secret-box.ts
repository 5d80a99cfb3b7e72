/**
 * Secrets at rest (webhook HMAC keys in Redis): AES-256-GCM under a key derived from
 * RERANK_SECRET_KEY. The sealed form is `enc:v1:<iv>:<tag>:<ciphertext>` (base64url); the job id is
 * authenticated data, so a sealed secret copied onto another job does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';
export const MIN_SECRET_KEY_CHARS = 32;

export class SecretBox {
  private readonly key: Buffer;

  /** `secretKey`: the operator's RERANK_SECRET_KEY (at least 32 characters, e.g. `openssl rand -base64 32`). */
  constructor(secretKey: string) {
    if (secretKey.length < MIN_SECRET_KEY_CHARS)
      throw new Error(`RERANK_SECRET_KEY: at least ${MIN_SECRET_KEY_CHARS} characters; generate one with \`openssl rand -base64 32\``);
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'rerank', 'webhook-secret-at-rest/v1', 32));
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${ct.toString('base64url')}`;
  }

  /** The plain text, or throws when the value was sealed under another key or for another context. */
  open(sealed: string, context: string): string {
    const [iv, tag, ct] = sealed.slice(PREFIX.length).split(':');
    if (!iv || !tag || ct === undefined) throw new Error('malformed sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}
