/**
 * The additions' match with many entries (run-time overrides): the hashed path answers what a plain
 * suffix walk over a Map of names answers, for listed names, their subdomains, near misses and case.
 */
import t from 'tap';
import { encodeName } from '../../src/dns/name.js';
import { ADD_ALLOW, ADD_DENY, ADD_NONE, createAdditions } from '../../src/policy/venues.js';
import { rng } from '../helpers/rng.js';

function expected(table: Map<string, number>, name: string): number {
  let suffix = name.toLowerCase();
  for (;;) {
    const v = table.get(suffix);
    if (v !== undefined) return v;
    const dot = suffix.indexOf('.');
    if (dot < 0) return ADD_NONE;
    suffix = suffix.slice(dot + 1);
  }
}

for (const count of [10, 31, 32, 2000]) {
  t.test(`${count} entries: the same verdicts as a suffix walk`, async (t) => {
    const next = rng(count);
    const random = () => next() / 2 ** 32;
    const label = () => Math.floor(random() * 36 ** 3).toString(36);
    const names = new Set<string>();
    while (names.size < count) {
      const depth = 1 + Math.floor(random() * 3);
      names.add([...Array.from({ length: depth }, label), 'example'].join('.'));
    }
    const allow: string[] = [];
    const deny: string[] = [];
    const table = new Map<string, number>();
    for (const name of names) {
      const isAllow = random() < 0.5;
      (isAllow ? allow : deny).push(name);
      table.set(name, isAllow ? ADD_ALLOW : ADD_DENY);
    }
    const additions = createAdditions(allow, deny, 'test');
    const listed = [...names];
    let checked = 0;
    let mismatches = 0;
    for (let i = 0; i < 3000; i++) {
      const base = listed[Math.floor(random() * listed.length)] as string;
      const r = random();
      const q =
        r < 0.3
          ? base
          : r < 0.6
            ? `${label()}.${base}`
            : r < 0.8
              ? `${label()}.${label()}.example`
              : base.toUpperCase();
      const got = additions.matchWire(encodeName(q.toLowerCase()), 0);
      const gotCase = additions.matchWire(encodeName(q), 0);
      if (got !== expected(table, q) || gotCase !== got) mismatches++;
      checked++;
    }
    t.equal(mismatches, 0, `${checked} names checked`);
    t.equal(
      additions.matchWire(Buffer.from([3, 0x61, 0x62]), 0),
      ADD_NONE,
      'a malformed name matches nothing',
    );
  });
}
