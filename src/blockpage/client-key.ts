import { unwrapMapped } from '../transport/address.js';

/**
 * The key the block page counts a client by: the IPv4 address, or the /64 of an IPv6 address (a
 * device picks new addresses inside its /64 at will, so the whole address would give it endless
 * fresh allowances).
 */
export function blockPageClientKey(remoteAddress: string | undefined): string {
  const address = unwrapMapped(remoteAddress ?? '');
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  if (!address.includes('::')) return left.slice(0, 4).join(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':');
}
