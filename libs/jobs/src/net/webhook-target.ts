/**
 * SSRF guard of webhooks. At submission a webhook host must be, and resolve only to, public unicast
 * addresses unless the operator allow-listed it (RERANK_WEBHOOK_ALLOWED_HOSTS). At delivery the name
 * is resolved once more, checked the same way, and the request connects to exactly that checked
 * address (no second lookup, so no DNS-rebinding window); redirects are never followed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { invalid } from '../errors';
import { bareAddress, HostList, internalReason } from './address-policy';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Name -> every address it resolves to (node:dns lookup, all addresses); injectable for tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface WebhookPolicy {
  /** Hostnames and CIDRs webhooks may reach although internal (RERANK_WEBHOOK_ALLOWED_HOSTS). */
  allowed: HostList;
  resolve?: Resolver;
}

export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
}

/** The URL for logs and views: never userinfo; `withQuery: false` also drops the query (may carry tokens). */
export function redactUrl(url: string, withQuery = true): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    if (!withQuery && u.search) u.search = '?…';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Resolves `url`'s host and checks every address: the address to connect to, or WebhookTargetError
 * saying which address is refused and how to allow it.
 */
export async function resolveWebhookTarget(url: URL, policy: WebhookPolicy): Promise<ResolvedAddress> {
  const host = bareAddress(url.hostname);
  const nameAllowed = policy.allowed.hasName(host);
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolver)(host);
    } catch (e) {
      throw new WebhookTargetError(
        `host "${host}" does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); use a hostname with a public DNS record`,
      );
    }
    if (addresses.length === 0) throw new WebhookTargetError(`host "${host}" resolves to no address`);
  }
  if (!nameAllowed) {
    for (const a of addresses) {
      const why = internalReason(a.address);
      if (why && !policy.allowed.hasAddress(a.address)) {
        const via = isIP(host) ? '' : ` (resolved from "${host}")`;
        throw new WebhookTargetError(
          `address ${a.address}${via} is ${why}; webhooks may only reach public addresses (an operator can allow internal receivers with RERANK_WEBHOOK_ALLOWED_HOSTS)`,
        );
      }
    }
  }
  return addresses[0];
}

/** Submission check of a syntactically valid webhook URL: 400 `webhook.url` when it may not be reached. */
export async function checkWebhookUrl(url: string, policy: WebhookPolicy): Promise<void> {
  try {
    await resolveWebhookTarget(new URL(url), policy);
  } catch (e) {
    if (e instanceof WebhookTargetError) throw invalid('webhook.url', e.message);
    throw e;
  }
}

export interface PostResult {
  status: number;
}

/**
 * POSTs `body` to `url`, connected to the address `resolveWebhookTarget` checked (Host and TLS SNI
 * stay the URL's hostname). Redirects are answers like any other (3xx is not followed).
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { policy: WebhookPolicy; timeoutMs: number },
): Promise<PostResult> {
  const target = new URL(url);
  const checked = await resolveWebhookTarget(target, options.policy);
  const pinned: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all) (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [checked]);
    else callback(null, checked.address, checked.family);
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        timeout: options.timeoutMs,
        ...(target.protocol === 'https:' && !isIP(bareAddress(target.hostname)) ? { servername: target.hostname } : {}),
      },
      (res: IncomingMessage) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new WebhookTimeoutError(options.timeoutMs)), options.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new WebhookTimeoutError(options.timeoutMs)));
    req.on('error', reject);
    req.end(body);
  });
}

export class WebhookTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}
