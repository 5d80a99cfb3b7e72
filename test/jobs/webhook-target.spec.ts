/**
 * The SSRF guard of webhooks (no processes): which hosts a webhook may name, the allow-list, and the
 * delivery that connects only to the address it checked. Also sealed secrets and the config block.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  ValidationError,
  checkWebhookUrl,
  HostList,
  internalReason,
  loadConfig,
  postWebhook,
  type Resolver,
  SecretBox,
  validateWebhook,
  WebhookTargetError,
} from '@rerank/jobs';

const NONE = new HostList();

async function refusal(url: string, allowed = NONE, resolve?: Resolver): Promise<ValidationError> {
  const e = await checkWebhookUrl(validateWebhook({ url })!.url, { allowed, resolve }).then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ValidationError)) throw new Error(`${url} was accepted`);
  return e;
}

describe('webhook URLs refused at submission', () => {
  const cases: [string, RegExp][] = [
    ['http://127.0.0.1/h', /address 127\.0\.0\.1 is loopback/],
    ['http://localhost:8080/h', /address (127\.0\.0\.1|::1) \(resolved from "localhost"\) is loopback/],
    ['http://[::1]/h', /address ::1 is loopback/],
    ['http://0.0.0.0/h', /address 0\.0\.0\.0 is unspecified/],
    ['http://[::]/h', /address :: is unspecified/],
    ['http://2130706433/h', /address 127\.0\.0\.1 is loopback/],
    ['http://0177.0.0.1/h', /address 127\.0\.0\.1 is loopback/],
    ['http://0x7f.0.0.1/h', /address 127\.0\.0\.1 is loopback/],
    ['http://127.1/h', /address 127\.0\.0\.1 is loopback/],
    ['http://[::ffff:127.0.0.1]/h', /address ::ffff:7f00:1 is loopback, as IPv4 inside IPv6/],
    ['http://[::ffff:7f00:1]/h', /address ::ffff:7f00:1 is loopback, as IPv4 inside IPv6/],
    ['http://[64:ff9b::a9fe:a9fe]/h', /link-local \(incl\. cloud metadata\), as IPv4 inside IPv6/],
    ['http://169.254.169.254/latest/meta-data', /address 169\.254\.169\.254 is link-local \(incl\. cloud metadata\)/],
    ['http://10.1.2.3/h', /address 10\.1\.2\.3 is private \(RFC 1918\)/],
    ['http://172.16.0.1/h', /address 172\.16\.0\.1 is private \(RFC 1918\)/],
    ['http://192.168.1.1/h', /address 192\.168\.1\.1 is private \(RFC 1918\)/],
    ['https://100.64.0.1/h', /address 100\.64\.0\.1 is carrier-grade NAT/],
    ['http://224.0.0.1/h', /address 224\.0\.0\.1 is multicast/],
    ['http://255.255.255.255/h', /reserved \/ broadcast/],
    ['http://[fe80::1]/h', /address fe80::1 is link-local/],
    ['http://[fc00::1]/h', /address fc00::1 is unique local \(private\)/],
    ['http://[fd12:3456::1]/h', /unique local \(private\)/],
    ['http://[ff02::1]/h', /multicast/],
  ];
  it.each(cases)('%s', async (url, message) => {
    const e = await refusal(url);
    expect(e.kind).toBe('invalid');
    expect(e.field).toBe('webhook.url');
    expect(e.message).toMatch(/^webhook\.url: address /);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/RERANK_WEBHOOK_ALLOWED_HOSTS/);
  });

  it('refuses a name that does not resolve, and a name with any internal address', async () => {
    const gone = await refusal('https://no-such-host.invalid/h');
    expect(gone.message).toMatch(/^webhook\.url: host "no-such-host\.invalid" does not resolve/);
    const mixed: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    expect((await refusal('https://hooks.example.com/h', NONE, mixed)).message).toBe(
      'webhook.url: address 10.0.0.7 (resolved from "hooks.example.com") is private (RFC 1918); webhooks may only reach public addresses (an operator can allow internal receivers with RERANK_WEBHOOK_ALLOWED_HOSTS)',
    );
  });

  it('accepts public addresses and names that resolve only to them', async () => {
    await expect(checkWebhookUrl('http://93.184.216.34/h', { allowed: NONE })).resolves.toBeUndefined();
    await expect(checkWebhookUrl('https://[2606:4700::1111]/h', { allowed: NONE })).resolves.toBeUndefined();
    const pub: Resolver = async () => [{ address: '93.184.216.34', family: 4 }];
    await expect(checkWebhookUrl('https://hooks.example.com/h', { allowed: NONE, resolve: pub })).resolves.toBeUndefined();
  });

  it('refuses credentials in the URL without echoing them', () => {
    let e: unknown;
    try {
      validateWebhook({ url: 'https://user:hunter2pass@hooks.example.com/h' });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('webhook.url');
    expect((e as ValidationError).message).toMatch(/^webhook\.url: credentials \(user:password@\) are not allowed/);
    expect((e as ValidationError).message).not.toContain('hunter2pass');
    expect(() => validateWebhook({ url: 'https://token@hooks.example.com/h' })).toThrow(/credentials/);
  });
});

describe('the allow-list (RERANK_WEBHOOK_ALLOWED_HOSTS)', () => {
  it('allows listed CIDRs and names, nothing else', async () => {
    const list = HostList.parse('127.0.0.0/8, ::1/128,hooks.internal');
    expect(list.problems).toEqual([]);
    const allowed = list.list;
    await expect(checkWebhookUrl('http://127.0.0.1:9/h', { allowed })).resolves.toBeUndefined();
    await expect(checkWebhookUrl('http://2130706433/h', { allowed })).resolves.toBeUndefined();
    await expect(checkWebhookUrl('http://[::ffff:127.0.0.1]/h', { allowed })).resolves.toBeUndefined();
    await expect(checkWebhookUrl('http://[::1]/h', { allowed })).resolves.toBeUndefined();
    const internal: Resolver = async () => [{ address: '10.9.9.9', family: 4 }];
    await expect(checkWebhookUrl('http://hooks.internal/h', { allowed, resolve: internal })).resolves.toBeUndefined();
    expect((await refusal('http://10.0.0.1/h', allowed)).message).toMatch(/10\.0\.0\.1 is private/);
    expect((await refusal('http://other.internal/h', allowed, internal)).message).toMatch(
      /10\.9\.9\.9 \(resolved from "other\.internal"\) is private/,
    );
  });

  it('names bad entries in the configuration', () => {
    expect(() => loadConfig({ RERANK_WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/33,ok.host,bad_host!' })).toThrow(
      /RERANK_WEBHOOK_ALLOWED_HOSTS: "10\.0\.0\.0\/33" is not a CIDR[\s\S]*RERANK_WEBHOOK_ALLOWED_HOSTS: "bad_host!" is neither a hostname nor a CIDR/,
    );
    expect(() => loadConfig({ RERANK_SECRET_KEY: 'short' })).toThrow(/RERANK_SECRET_KEY: at least 32 characters, got 5/);
    const c = loadConfig({ RERANK_TRUST_PROXY: '10.0.0.0/8' });
    expect(c.api.trustProxy).not.toBeNull();
    expect(c.api.trustProxy !== 'all' && c.api.trustProxy?.hasAddress('10.2.3.4')).toBe(true);
    const defaults = loadConfig({});
    expect([defaults.api.trustProxy, defaults.webhook.secretKey, defaults.rateLimits]).toEqual([
      null,
      undefined,
      { requestsPerMinute: 3000, pairsPerMinute: 5000000, activeJobs: 200 },
    ]);
    expect(loadConfig({ RERANK_TRUST_PROXY: 'true' }).api.trustProxy).toBe('all');
  });

  it('classifies addresses', () => {
    expect(internalReason('8.8.8.8')).toBeUndefined();
    expect(internalReason('::ffff:8.8.8.8')).toBeUndefined();
    expect(internalReason('2001:4860:4860::8888')).toBeUndefined();
    expect(internalReason('100.63.255.255')).toBeUndefined();
    expect(internalReason('100.128.0.0')).toBeUndefined();
    expect(internalReason('100.127.255.255')).toBe('carrier-grade NAT (RFC 6598)');
    expect(internalReason('[fe80::1%25eth0]')).toBe('link-local');
  });
});

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

function receiver(status = 200, extra: Record<string, string> = {}): Promise<{ port: number; hits: Hit[]; close: () => Promise<void> }> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.writeHead(status, extra);
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ port, hits, close: () => new Promise<void>((r) => server.close(() => r())) });
    }),
  );
}

describe('delivery connects only to the address it checked', () => {
  it('refuses when the name resolves to a blocked address at delivery time (DNS rebinding)', async () => {
    const r = await receiver();
    try {
      // Public at submission, loopback at delivery: the second answer is what delivery checks.
      const answers = [[{ address: '93.184.216.34', family: 4 }], [{ address: '127.0.0.1', family: 4 }]];
      let calls = 0;
      const rebinding: Resolver = async () => answers[Math.min(calls++, 1)];
      const url = `http://rebind.example.com:${r.port}/hook`;
      await expect(checkWebhookUrl(url, { allowed: NONE, resolve: rebinding })).resolves.toBeUndefined();
      const e = await postWebhook(url, '{}', {}, { policy: { allowed: NONE, resolve: rebinding }, timeoutMs: 5000 }).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(WebhookTargetError);
      expect((e as Error).message).toMatch(/^address 127\.0\.0\.1 \(resolved from "rebind\.example\.com"\) is loopback/);
      expect(calls).toBe(2);
      expect(r.hits).toHaveLength(0);
    } finally {
      await r.close();
    }
  });

  it('connects to the checked address with the URL host as Host, resolving once', async () => {
    const r = await receiver();
    try {
      let calls = 0;
      const pinned: Resolver = async () => {
        calls++;
        return [{ address: '127.0.0.1', family: 4 }];
      };
      const allowed = new HostList(['127.0.0.0/8']);
      const res = await postWebhook(
        `http://hooks.example.test:${r.port}/hook`,
        '{"a":1}',
        { 'content-type': 'application/json' },
        { policy: { allowed, resolve: pinned }, timeoutMs: 5000 },
      );
      expect(res.status).toBe(200);
      expect(calls).toBe(1);
      expect(r.hits).toHaveLength(1);
      expect(r.hits[0].headers.host).toBe(`hooks.example.test:${r.port}`);
      expect(r.hits[0].body).toBe('{"a":1}');
    } finally {
      await r.close();
    }
  });

  it('does not follow redirects', async () => {
    const target = await receiver();
    const r = await receiver(302, { location: `http://127.0.0.1:${target.port}/elsewhere` });
    try {
      const res = await postWebhook(
        `http://127.0.0.1:${r.port}/hook`,
        '{}',
        {},
        { policy: { allowed: new HostList(['127.0.0.1']) }, timeoutMs: 5000 },
      );
      expect(res.status).toBe(302);
      expect(r.hits).toHaveLength(1);
      expect(target.hits).toHaveLength(0);
    } finally {
      await r.close();
      await target.close();
    }
  });
});

describe('webhook secrets at rest', () => {
  const box = new SecretBox('k'.repeat(32));
  it('seals with AES-GCM bound to the job id', () => {
    const sealed = box.seal('my-webhook-secret', 'job_1');
    expect(sealed).toMatch(/^enc:v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(sealed).not.toContain('my-webhook-secret');
    expect(box.seal('my-webhook-secret', 'job_1')).not.toBe(sealed);
    expect(box.open(sealed, 'job_1')).toBe('my-webhook-secret');
    expect(() => box.open(sealed, 'job_2')).toThrow();
    expect(() => new SecretBox('x'.repeat(32)).open(sealed, 'job_1')).toThrow();
  });
});
