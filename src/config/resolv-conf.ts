import { isIP } from 'node:net';
import { stripScope } from '../net/address.js';

/**
 * The nameservers of a resolv.conf (resolv.conf(5)): `nameserver ADDRESS` lines, IPv4 or IPv6,
 * comments after '#' or ';'. A zone id ("fe80::1%eth0") is dropped: upstream URLs have no place for
 * one. Lines that are not valid addresses are skipped, as the C resolver does.
 */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (fields[0] !== 'nameserver' || fields.length < 2) continue;
    const address = stripScope(fields[1]);
    if (isIP(address) !== 0 && !out.includes(address)) out.push(address);
  }
  return out;
}

/** A resolv.conf nameserver as an upstream URL: plain DNS over UDP on port 53. */
export function nameserverUrl(address: string): string {
  return isIP(address) === 6 ? `udp://[${address}]:53` : `udp://${address}:53`;
}
