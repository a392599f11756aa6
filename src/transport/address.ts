import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { BoundAddress } from './types.js';

const MAPPED_PREFIX = '::ffff:';

/**
 * Clients on a dual-stack '::' socket show up as '::ffff:a.b.c.d'; the rest of roje (ACLs, rate
 * limits, logs) wants the plain IPv4 form, so unwrap it once, here.
 */
export function unwrapMapped(address: string): string {
  return address.startsWith(MAPPED_PREFIX) && address.includes('.', MAPPED_PREFIX.length)
    ? address.slice(MAPPED_PREFIX.length)
    : address;
}

export interface ResolvedHost {
  ip: string;
  family: 4 | 6;
  /**
   * An explicit IPv6 address binds IPv6 only; '::' stays dual-stack so that one listener can serve
   * both families where the kernel allows it.
   */
  ipv6Only: boolean;
}

/** Listen addresses are normally IP literals; a host name ('localhost') is resolved once, at bind. */
export async function resolveHost(host: string): Promise<ResolvedHost> {
  let ip = host;
  let family = isIP(host);
  if (family === 0) {
    const found = await lookup(host);
    ip = found.address;
    family = found.family;
  }
  return { ip, family: family === 6 ? 6 : 4, ipv6Only: family === 6 && ip !== '::' };
}

/** '127.0.0.1:53', '[::1]:53': the form used in error messages and logs. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function boundAddress(info: { address: string; port: number; family: string | number }): BoundAddress {
  const v6 = info.family === 'IPv6' || info.family === 6;
  return { host: info.address, port: info.port, family: v6 ? 'IPv6' : 'IPv4' };
}
