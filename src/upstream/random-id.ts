import { randomFillSync } from 'node:crypto';

/**
 * Unpredictable 16-bit DNS message IDs (RFC 5452): an off-path attacker must guess them, so they come
 * from the CSPRNG. Drawn from a refilled pool because one randomFillSync per 1024 IDs is much cheaper
 * than one crypto.randomInt() per query.
 */
const pool = new Uint16Array(1024);
let next = pool.length;

export function randomId(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++];
}
