/**
 * The API's listening address (RERANK_HOST / --host) as people read it: the URL that reaches it from
 * this machine, whether other machines can reach it, and the address a server actually bound.
 */
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { bareAddress } from './address-policy';

const ANY = new Set(['0.0.0.0', '::', '']);

/** Whether only this machine can connect to `host` (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = bareAddress(host).toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** `host:port` with IPv6 brackets. */
function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The http URL a client on this machine reaches a server listening on `host` (undefined: every interface) with. */
export function localUrl(host: string | undefined, port: number): string {
  return `http://${hostPort(host === undefined || ANY.has(host) ? '127.0.0.1' : bareAddress(host), port)}`;
}

/** What a server bound, for its start line: `127.0.0.1:3000 (this machine only)`, `[::]:3000 (every interface)`. */
export function describeBound(address: AddressInfo): string {
  const where = ANY.has(address.address) ? 'every interface' : isLoopbackHost(address.address) ? 'this machine only' : 'this address only';
  return `${hostPort(address.address, address.port)} (${where})`;
}
