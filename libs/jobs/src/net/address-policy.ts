/**
 * Which network addresses the service may connect to on a client's behalf (webhooks), and which
 * proxies it trusts. An address is "internal" when it is loopback, private, link-local, unspecified,
 * multicast, CGNAT or otherwise not a public unicast address; IPv4-mapped and NAT64 IPv6 forms are
 * judged by the IPv4 address they carry.
 */
import { BlockList, isIP } from 'node:net';

/** [network, prefix, why] of addresses refused as webhook targets. */
const INTERNAL_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'carrier-grade NAT (RFC 6598)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (incl. cloud metadata)'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved / broadcast'],
];

const INTERNAL_V6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'IPv4-compatible (deprecated)'],
  ['100::', 64, 'discard-only'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique local (private)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];

const internalV4 = INTERNAL_V4.map(([net, prefix, why]) => ({ list: subnet(net, prefix, 'ipv4'), why }));
const internalV6 = INTERNAL_V6.map(([net, prefix, why]) => ({ list: subnet(net, prefix, 'ipv6'), why }));

function subnet(net: string, prefix: number, type: 'ipv4' | 'ipv6'): BlockList {
  const b = new BlockList();
  b.addSubnet(net, prefix, type);
  return b;
}

/** Strips IPv6 brackets and a zone id: `[fe80::1%eth0]` -> `fe80::1`. */
export function bareAddress(host: string): string {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const pct = h.indexOf('%');
  return pct >= 0 ? h.slice(0, pct) : h;
}

/** The IPv4 address an IPv6 address carries (::ffff:a.b.c.d mapped, 64:ff9b::/96 NAT64), if any. */
export function embeddedIPv4(address: string): string | undefined {
  const a = address.toLowerCase();
  if (isIP(a) !== 6) return undefined;
  const groups = expandV6(a);
  if (!groups) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return undefined;
  return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
}

/** Eight 16-bit groups of an IPv6 address (dotted IPv4 tails included). */
function expandV6(a: string): number[] | undefined {
  let text = a;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const o = tail[1].split('.').map(Number);
    text = `${text.slice(0, -tail[1].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined ? (rest ? rest.split(':') : []) : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const groups = [...h, ...new Array<string>(Math.max(fill, 0)).fill('0'), ...r].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** Why an IP address is not a public unicast address, or undefined when it is one. */
export function internalReason(address: string): string | undefined {
  const a = bareAddress(address);
  const family = isIP(a);
  if (family === 4) return internalV4.find((r) => r.list.check(a, 'ipv4'))?.why;
  if (family !== 6) return 'not an IP address';
  const v4 = embeddedIPv4(a);
  if (v4 !== undefined) {
    const why = internalReason(v4);
    return why ? `${why}, as IPv4 inside IPv6` : undefined;
  }
  return internalV6.find((r) => r.list.check(a, 'ipv6'))?.why;
}

/**
 * A list of hostnames and CIDRs (`127.0.0.0/8,::1/128,localhost,hooks.internal`), as the operator
 * writes it in RERANK_WEBHOOK_ALLOWED_HOSTS or RERANK_TRUST_PROXY.
 */
export class HostList {
  private readonly names = new Set<string>();
  private readonly nets = new BlockList();
  private count = 0;

  constructor(entries: readonly string[] = []) {
    for (const e of entries) this.add(e);
  }

  /** Parses a comma-separated list; `problems` names each entry that is neither a hostname nor a CIDR. */
  static parse(text: string): { list: HostList; problems: string[] } {
    const list = new HostList();
    const problems: string[] = [];
    for (const entry of text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      try {
        list.add(entry);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    return { list, problems };
  }

  get size(): number {
    return this.count;
  }

  add(entry: string): void {
    const slash = entry.indexOf('/');
    const addr = bareAddress(slash >= 0 ? entry.slice(0, slash) : entry);
    const family = isIP(addr);
    if (slash >= 0 || family !== 0) {
      const max = family === 4 ? 32 : 128;
      const prefix = slash >= 0 ? Number(entry.slice(slash + 1)) : max;
      if (family === 0 || !/^\d+$/.test(slash >= 0 ? entry.slice(slash + 1) : String(max)) || prefix > max) {
        throw new Error(`"${entry}" is not a CIDR; write e.g. 10.0.0.0/8, fd00::/8 or a single address`);
      }
      this.nets.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else {
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)) {
        throw new Error(`"${entry}" is neither a hostname nor a CIDR; write e.g. hooks.internal, 10.0.0.0/8`);
      }
      this.names.add(entry.toLowerCase().replace(/\.$/, ''));
    }
    this.count++;
  }

  hasName(host: string): boolean {
    return this.names.has(host.toLowerCase().replace(/\.$/, ''));
  }

  hasAddress(address: string): boolean {
    const a = bareAddress(address);
    const family = isIP(a);
    if (family === 0) return false;
    if (this.nets.check(a, family === 4 ? 'ipv4' : 'ipv6')) return true;
    const v4 = embeddedIPv4(a);
    return v4 !== undefined && this.nets.check(v4, 'ipv4');
  }
}
