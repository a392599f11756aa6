/**
 * The client address the self-test asks as for a venue: the first host address of the venue's first
 * network (198.51.100.0/24 -> 198.51.100.1; a /31, /32, /127 or /128 -> its first address). It is only
 * ever a source address inside roje's own chain, never a destination: nothing is sent to it.
 */
import { parseCidr } from '../net/cidr.js';

export function venueClientAddress(networks: readonly string[]): string | null {
  const first = networks[0];
  if (first === undefined) return null;
  const { version, words, prefix } = parseCidr(first);
  const hostBits = (version === 4 ? 32 : 128) - prefix;
  const w = new Uint16Array(words);
  // The network address itself is no host when there are two host bits or more (IPv4: and not broadcast).
  if (hostBits >= 2) w[7] += 1;
  if (version === 4) return `${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}`;
  // Through the CIDR parser once more for the canonical (RFC 5952) text of the address.
  return parseCidr([...w].map((x) => x.toString(16)).join(':')).text.replace(/\/128$/, '');
}
