/**
 * API tokens and roles. A token is a random secret that the operator keeps; the config holds only its
 * SHA-256 (tokens are 256-bit random values, so a plain hash is enough: nothing to brute-force, no
 * password to stretch). `roje token` makes one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const ROLES = ['auditor', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  /** Who holds it: written to the audit log. */
  name: string;
  role: Role;
  /** Hex SHA-256 of the token. */
  sha256: string;
}

export interface Principal {
  name: string;
  role: Role;
}

/** What each role may do: an admin everything, an operator also change lists and cache, an auditor read. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token: 32 random bytes, base64url, with a prefix that makes a leaked one easy to grep for. */
export function newToken(): string {
  return `roje_${randomBytes(32).toString('base64url')}`;
}

/** Looks a bearer token up among the entries, in constant time per entry. */
export function createAuthenticator(
  entries: readonly TokenEntry[],
): (header: string | undefined) => Principal | null {
  const known = entries.map((e) => ({ name: e.name, role: e.role, digest: Buffer.from(e.sha256, 'hex') }));
  return (header) => {
    if (header === undefined) return null;
    const m = /^Bearer\s+(\S{1,512})$/i.exec(header);
    if (m === null) return null;
    const digest = createHash('sha256').update(m[1], 'utf8').digest();
    let found: Principal | null = null;
    for (const k of known) {
      // Every entry is compared, so the time does not tell which one matched.
      if (k.digest.length === digest.length && timingSafeEqual(k.digest, digest) && found === null) {
        found = { name: k.name, role: k.role };
      }
    }
    return found;
  };
}
