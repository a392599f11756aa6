/**
 * What counts as blocked, allowed, SafeSearch... for an arbitrary resolver, not only roje: filters
 * answer a blocked name with REFUSED, NXDOMAIN or NODATA marked by an Extended DNS Error (RFC 8914:
 * 15 Blocked, 16 Censored, 17 Filtered), or with an unroutable or block-page address. A plain
 * NXDOMAIN (no EDE) is what an unfiltered resolver says of a name that does not exist, so it proves
 * a block only where the suite asks for NXDOMAIN itself.
 */
import type { Exchange } from './client.js';
import type { SuiteCase } from './suite.js';

export const BLOCK_EDE_CODES: readonly number[] = [15, 16, 17];
/** Addresses every filter uses for "blocked"; --block-address adds a block page's. */
export const DEFAULT_BLOCK_ADDRESSES: readonly string[] = ['0.0.0.0', '::'];

export interface Judgement {
  pass: boolean;
  /** Why, in a few words, for the report. */
  reason: string;
}

const ADDRESS_TYPES = new Set(['A', 'AAAA']);

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Normalises an IPv6 address enough to compare "0:0::0" with "::". */
function addressKey(address: string): string {
  if (!address.includes(':')) return address;
  const parts = address.toLowerCase().split('::');
  const head = parts[0] === '' ? [] : parts[0].split(':');
  const tail = parts.length > 1 && parts[1] !== '' ? parts[1].split(':') : [];
  const fill = parts.length > 1 ? Array(8 - head.length - tail.length).fill('0') : [];
  return [...head, ...fill, ...tail].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

/** How the resolver's answer reads, whatever was expected. */
export function classify(
  qtype: string,
  answer: Exchange,
  blockAddresses: ReadonlySet<string>,
): {
  blockEde: boolean;
  addresses: string[];
  blockAddressesOnly: boolean;
  ofType: number;
} {
  const blockEde = answer.ede.some((e) => BLOCK_EDE_CODES.includes(e.code));
  const addresses = answer.answers.filter((r) => ADDRESS_TYPES.has(r.type)).map((r) => r.data);
  const blockAddressesOnly =
    addresses.length > 0 && addresses.every((a) => blockAddresses.has(addressKey(a)));
  const ofType = answer.answers.filter((r) => r.type === qtype).length;
  return { blockEde, addresses, blockAddressesOnly, ofType };
}

export function blockAddressSet(extra: readonly string[] = []): Set<string> {
  return new Set([...DEFAULT_BLOCK_ADDRESSES, ...extra].map(addressKey));
}

/** Judges one answer against one case. */
export function judge(c: SuiteCase, answer: Exchange, blockAddresses: ReadonlySet<string>): Judgement {
  if (answer.rcode === null) return { pass: false, reason: `no answer (${answer.error ?? 'unknown error'})` };
  const { blockEde, blockAddressesOnly, ofType } = classify(c.qtype, answer, blockAddresses);
  const rcode = answer.rcode;
  const emptyOrNx = rcode === 'NXDOMAIN' || (rcode === 'NOERROR' && ofType === 0);
  const blocked =
    rcode === 'REFUSED' ||
    (emptyOrNx && blockEde) ||
    blockAddressesOnly ||
    // A block page answer: the resolver says it filtered, and the address is the page's.
    (rcode === 'NOERROR' && blockEde);
  switch (c.expect) {
    case 'blocked':
      if (blocked) return { pass: true, reason: blockReason(rcode, blockEde, blockAddressesOnly) };
      if (rcode === 'NXDOMAIN') {
        return {
          pass: false,
          reason: 'NXDOMAIN without an EDE 15/16/17: not distinguishable from a missing name',
        };
      }
      return {
        pass: false,
        reason: rcode === 'NOERROR' ? 'resolved: not blocked' : `${rcode}: not a block answer`,
      };
    case 'nxdomain':
      return rcode === 'NXDOMAIN'
        ? { pass: true, reason: blockEde ? 'NXDOMAIN with EDE' : 'NXDOMAIN' }
        : { pass: false, reason: `${rcode}, not NXDOMAIN` };
    case 'nodata':
      if (rcode !== 'NOERROR') return { pass: false, reason: `${rcode}, not NOERROR without data` };
      return ofType === 0
        ? { pass: true, reason: blockEde ? 'NODATA with EDE' : 'NODATA' }
        : { pass: false, reason: `${ofType} ${c.qtype} record(s): not NODATA` };
    case 'allowed': {
      if (rcode !== 'NOERROR') return { pass: false, reason: `${rcode}: does not resolve` };
      if (blocked) return { pass: false, reason: blockReason(rcode, blockEde, blockAddressesOnly) };
      return ofType > 0
        ? { pass: true, reason: `${ofType} ${c.qtype} record(s)` }
        : { pass: false, reason: `no ${c.qtype} record` };
    }
    case 'safesearch': {
      const safe = new Set(c.safeHosts ?? []);
      const cname = answer.answers.find((r) => r.type === 'CNAME' && safe.has(norm(r.data)));
      if (cname !== undefined) return { pass: true, reason: `CNAME to ${norm(cname.data)}` };
      if (blocked) return { pass: false, reason: 'blocked instead of SafeSearch' };
      return { pass: false, reason: `${rcode}: no CNAME to ${[...safe].join(' or ')}` };
    }
  }
}

function blockReason(rcode: string, blockEde: boolean, blockAddressesOnly: boolean): string {
  if (rcode === 'REFUSED') return 'blocked: REFUSED';
  if (blockAddressesOnly) return 'blocked: block address';
  return blockEde ? `blocked: ${rcode} with EDE` : `blocked: ${rcode}`;
}
