/**
 * The string formats the config schema names (`format: duration`...), as checks. Their own module so that
 * the check generated at build time (schema-check.ts) imports them without importing validate.ts.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseListenAddress } from '../net/address.js';
import { cidrProblem } from '../net/cidr.js';
import { parseUpstreamUrl } from '../upstream/url.js';
import { parseByteSize, parseDuration } from './units.js';

const FORMATS: Record<string, (value: string) => boolean> = {
  duration: (v) => parseDuration(v) !== null,
  ttl: (v) => {
    const ms = parseDuration(v);
    return ms !== null && ms % 1000 === 0;
  },
  'byte-size': (v) => parseByteSize(v) !== null,
  listen: (v) => parseListenAddress(v) !== null,
  cidr: (v) => cidrProblem(v) === null,
  'upstream-url': (v) => upstreamUrlProblem(v) === null,
  ipv4: (v) => isIPv4(v),
  ipv6: (v) => isIPv6(v),
};

/** The same, as ajv takes them (addFormat) and as the generated check refers to them. */
export const AJV_FORMATS = Object.fromEntries(
  Object.entries(FORMATS).map(([name, validate]) => [name, { type: 'string' as const, validate }]),
);

/** Why `value` is not an upstream URL, or null. */
export function upstreamUrlProblem(value: string): string | null {
  try {
    parseUpstreamUrl(value);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
