import { BlockList, isIP } from 'node:net';
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls';

/**
 * tls.checkServerIdentity, except that an IPv6 literal is matched against the certificate's IP
 * Address SANs here. Node 22.23 and 24.17-24.18 stopped matching them (nodejs/node#64144), which
 * would break every tls:// or https:// upstream written as an IPv6 address on those versions.
 */
export function checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const ip = host.replace(/^\[|\]$/g, '');
  if (isIP(ip) !== 6) return nodeCheckServerIdentity(host, cert);
  const sans = new BlockList();
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    const san = entry.startsWith('IP Address:') ? entry.slice('IP Address:'.length) : '';
    if (isIP(san) === 6) sans.addAddress(san, 'ipv6');
  }
  // BlockList compares the binary addresses, so "::1" matches "0:0:0:0:0:0:0:1".
  return sans.check(ip, 'ipv6') ? undefined : nodeCheckServerIdentity(host, cert);
}
