/**
 * The test zones the conformance suite's Knot serves, as templates (no copy of real data). They sit
 * under `example.` (RFC 2606), not `test.`: unbound answers `test.` itself (RFC 6761 6.2) and the suite
 * keeps unbound's default local zones as the reference for special-use names.
 */

/**
 * The zones, apex -> zone file text. `serial` is the SOA serial of every zone: a number of the run's
 * own, so that a helper can tell its Knot from another program that took the port first.
 * `signed.example` is signed by Knot (dnssec-signing: on).
 */
export function zoneFiles(serial: number): Record<string, string> {
  return {
    'conf.example': confZone(serial),
    'child.conf.example': childZone(serial),
    'other.example': otherZone(serial),
    [SIGNED_ZONE]: signedZone(serial),
  };
}

export const SIGNED_ZONE = 'signed.example';

/** Names the generator asks about, with the types each holds (the rest are NODATA). */
export const ZONE_NAMES: readonly string[] = [
  'conf.example',
  'www.conf.example',
  'MixedCase.conf.example',
  'blocked.conf.example',
  'mail.conf.example',
  'txt.conf.example',
  'longtxt.conf.example',
  '_sip._tcp.conf.example',
  'sip.conf.example',
  'ptr.conf.example',
  'caa.conf.example',
  'naptr.conf.example',
  'sshfp.conf.example',
  '_443._tcp.www.conf.example',
  'svc.conf.example',
  '_dns.svc.conf.example',
  'alias.conf.example',
  'chain1.conf.example',
  'out.conf.example',
  'host.dname.conf.example',
  'any.wild.conf.example',
  'a.b.wild.conf.example',
  'x.wildcname.conf.example',
  'ent.conf.example',
  'b.ent.conf.example',
  'a.b.ent.conf.example',
  'child.conf.example',
  'host.child.conf.example',
  'big.conf.example',
  'manya.conf.example',
  'nope.conf.example',
  'deep.nope.conf.example',
  'other.example',
  'www.other.example',
  'signed.example',
  'www.signed.example',
  'nope.signed.example',
  'nope.other.example',
  'unserved.example',
];

/** The one name of roje's test list (it exists in the zone: unbound answers it, roje blocks it). */
export const BLOCKED_NAME = 'blocked.conf.example';

/** Tags of the queries for a name, beyond its type and profile, for the accepted list to match. */
export function nameTags(name: string): string[] {
  const lower = name.toLowerCase().replace(/\.$/, '');
  const tags: string[] = [];
  if (lower === BLOCKED_NAME) tags.push('blocked');
  // The CNAME (or DNAME-synthesised CNAME) leads into another zone: Knot answers the first step only.
  if (lower === 'out.conf.example' || lower === 'host.dname.conf.example') tags.push('chain:out-of-zone');
  if (lower.endsWith('dname.conf.example')) tags.push('dname');
  if (lower === 'signed.example' || lower.endsWith('.signed.example')) tags.push('signed');
  if (lower === 'unserved.example') tags.push('unserved');
  return tags;
}

const SOA = (apex: string, serial: number) =>
  `@ 3600 IN SOA ns1.${apex}. hostmaster.${apex}. ${serial} 3600 900 604800 300\n@ 3600 IN NS ns1.${apex}.\nns1 3600 IN A 192.0.2.53\n`;

function confZone(serial: number): string {
  const lines = [
    '$ORIGIN conf.example.',
    '$TTL 3600',
    SOA('conf.example', serial),
    '@ IN MX 10 mail.conf.example.',
    '@ IN TXT "v=spf1 -all"',
    'www IN A 192.0.2.1',
    'blocked IN A 192.0.2.66',
    'www IN AAAA 2001:db8::1',
    'MixedCase IN A 192.0.2.2',
    'mail IN A 192.0.2.25',
    'mail IN AAAA 2001:db8::25',
    'txt IN TXT "first string" "second string" "third"',
    `longtxt IN TXT ${longTxt()}`,
    '_sip._tcp IN SRV 10 60 5060 sip.conf.example.',
    'sip IN A 192.0.2.60',
    'ptr IN PTR www.conf.example.',
    'caa IN CAA 0 issue "ca.example"',
    'caa IN CAA 128 iodef "mailto:security@conf.example"',
    'naptr IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.conf.example.',
    'sshfp IN SSHFP 4 2 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    '_443._tcp.www IN TLSA 3 1 1 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
    'svc IN HTTPS 1 . alpn=h2,h3',
    'svc IN A 192.0.2.80',
    '_dns.svc IN SVCB 1 svc.conf.example. alpn=dot port=853',
    'alias IN CNAME www.conf.example.',
    'chain1 IN CNAME chain2.conf.example.',
    'chain2 IN CNAME chain3.conf.example.',
    'chain3 IN CNAME www.conf.example.',
    'out IN CNAME www.other.example.',
    'dname IN DNAME other.example.',
    '*.wild IN A 192.0.2.10',
    '*.wild IN TXT "wildcard"',
    '*.wildcname IN CNAME www.conf.example.',
    'a.b.ent IN A 192.0.2.11',
    // A delegation with glue, to a child zone Knot serves as well.
    'child IN NS ns.child.conf.example.',
    'child IN DS 12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de0bf5b6d5a4ae0c1f47e3d8f2',
    'ns.child IN A 192.0.2.54',
    // Over 4 KB: 40 TXT records of 120 bytes, 300 A records.
    ...Array.from({ length: 40 }, (_, i) => `big IN TXT "${String(i).padStart(3, '0')}${'x'.repeat(117)}"`),
    ...Array.from({ length: 250 }, (_, i) => `manya IN A 198.51.100.${i}`),
    ...Array.from({ length: 50 }, (_, i) => `manya IN A 203.0.113.${i}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** One TXT record of three strings, over 255 bytes in all (each string at most 255). */
function longTxt(): string {
  return ['a', 'b', 'c'].map((c) => `"${c.repeat(200)}"`).join(' ');
}

function childZone(serial: number): string {
  return `$ORIGIN child.conf.example.\n$TTL 3600\n${SOA('child.conf.example', serial)}ns IN A 192.0.2.54\nhost IN A 192.0.2.55\n`;
}

function otherZone(serial: number): string {
  return `$ORIGIN other.example.\n$TTL 3600\n${SOA('other.example', serial)}www IN A 192.0.2.100\nhost IN A 192.0.2.101\n`;
}

function signedZone(serial: number): string {
  return `$ORIGIN signed.example.\n$TTL 3600\n${SOA('signed.example', serial)}www IN A 192.0.2.200\nwww IN TXT "signed"\n`;
}
