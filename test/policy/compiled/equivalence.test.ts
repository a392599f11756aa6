/**
 * The compiled lookup against the reference matcher (a Map and a suffix walk) on real lists: hagezi nsfw
 * (adblock) and sinfonietta (hosts) in two categories, plus crafted allow, exact, below and RPZ rules
 * on names from them, checked on every listed name, a subdomain of each, and 100,000 names that are not
 * listed (Tranco's top names and random ones).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { loadArtifact } from '../../../src/policy/compiled/artifact.js';
import { createListBuilder } from '../../../src/policy/compiled/builder.js';
import { ReferenceMatcher } from '../../../src/policy/compiled/reference.js';
import type { ListRule } from '../../../src/policy/types.js';
import { rng } from '../../helpers/rng.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

async function lines(file: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('xz', ['-dc', `${DATA}${file}`], {
    encoding: 'latin1',
    maxBuffer: 256 << 20,
  });
  return stdout.split('\n');
}

const NAME = /^(?=.{1,253}$)([a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/;

/** A tiny stand-in for the product parsers: `||name^` and `0.0.0.0 name`, valid names only. */
function parseLine(line: string): string | null {
  const m = /^\|\|([^^/*|]+)\^$/.exec(line) ?? /^(?:0\.0\.0\.0|127\.0\.0\.1)\s+(\S+)/.exec(line);
  if (!m) return null;
  const name = m[1].toLowerCase().replace(/\.$/, '');
  return NAME.test(name) && name !== '0.0.0.0' && name !== 'localhost' ? name : null;
}

t.test(
  'compiled lookup == reference on real lists',
  { skip: !existsSync(DATA) && `no shared data at ${DATA}` },
  async (t) => {
    const [hagezi, sinfonietta, tranco] = await Promise.all([
      lines('adult/hagezi-nsfw.adblock.txt.xz'),
      lines('adult/sinfonietta.pornography-hosts.xz'),
      lines('workload/tranco-top50k.2025-02.csv.xz'),
    ]);
    const builder = createListBuilder();
    const ref = new ReferenceMatcher();
    const listed = new Set<string>();
    let line = 0;
    const add = (rule: Omit<ListRule, 'line'>, category: string) => {
      const r = { ...rule, line: ++line };
      const bit = builder.category(category);
      builder.add(r, bit);
      ref.add(r, bit);
      listed.add(r.name);
    };
    const sources: Array<[string[], string]> = [
      [hagezi, 'adult'],
      [sinfonietta, 'porn-hosts'],
    ];
    const names: string[] = [];
    for (const [text, category] of sources) {
      for (const l of text) {
        const name = parseLine(l);
        if (name === null) continue;
        names.push(name);
        add({ name, scope: 'subtree', action: 'block' }, category);
      }
    }
    t.ok(names.length > 150_000, `${names.length} names from the two lists`);

    // Crafted rules on listed names, deterministic: allows, exact and below blocks, RPZ actions.
    const next = rng(20261123);
    for (let i = 0; i < 3000; i++) {
      const name = names[next() % names.length];
      const parent = name.includes('.') ? name.slice(name.indexOf('.') + 1) : name;
      switch (i % 10) {
        case 0:
          add({ name, scope: 'subtree', action: 'allow' }, 'adult');
          break;
        case 1:
          add({ name: `www.${name}`, scope: 'subtree', action: 'allow' }, 'porn-hosts');
          break;
        case 2:
          add({ name, scope: 'exact', action: 'nxdomain' }, 'rpz');
          break;
        case 3:
          add({ name, scope: 'below', action: 'nodata' }, 'rpz');
          break;
        case 4:
          add(
            { name, scope: 'exact', action: 'local', local: [{ type: 'A', data: `192.0.2.${i % 250}` }] },
            'rpz',
          );
          add({ name, scope: 'exact', action: 'local', local: [{ type: 'TXT', data: `rule ${i}` }] }, 'rpz');
          break;
        case 5:
          add({ name: `cdn.${name}`, scope: 'exact', action: 'allow' }, 'adult');
          break;
        case 6:
          add({ name, scope: 'below', action: 'allow' }, 'rpz');
          break;
        case 7:
          // An allow above listed names of the same categories: the deeper block must win again.
          add({ name: parent, scope: 'subtree', action: 'allow' }, i % 20 === 7 ? 'adult' : 'porn-hosts');
          break;
        case 8:
          add({ name: parent, scope: 'below', action: 'nxdomain' }, 'rpz');
          break;
        default:
          add(
            {
              name: name.split('.').slice(-1)[0] === 'xyz' ? 'xyz' : name,
              scope: 'subtree',
              action: 'block',
            },
            'tld',
          );
      }
    }
    add({ name: 'allowed-everywhere.com', scope: 'subtree', action: 'allow' }, 'adult');

    const lists = loadArtifact(builder.finish());
    t.equal(lists.entries, line);
    t.same(lists.categories, ['adult', 'porn-hosts', 'rpz', 'tld']);

    let checked = 0;
    let blocked = 0;
    let mismatches = 0;
    const check = (q: string) => {
      const got = lists.lookup(q);
      const want = ref.lookup(q);
      checked++;
      if (got.blocked !== 0) blocked++;
      const same =
        got.blocked === want.blocked &&
        got.allowed === want.allowed &&
        got.action === want.action &&
        got.matchedLabels === want.matchedLabels &&
        JSON.stringify(lists.localData(got.localIndex)) === JSON.stringify(want.local);
      if (!same && mismatches++ < 10)
        t.same(
          { ...got, local: lists.localData(got.localIndex) },
          { ...want, localIndex: got.localIndex },
          q,
        );
    };

    for (const name of listed) {
      check(name);
      check(`sub-${name.length}.${name}`);
      check(name.toUpperCase());
    }
    const listedChecks = checked;
    t.ok(blocked > listedChecks * 0.9, `${blocked} of ${listedChecks} listed names and subdomains blocked`);

    let unlisted = 0;
    for (const l of tranco) {
      const name = l.slice(l.indexOf(',') + 1).trim();
      if (name === '' || listed.has(name)) continue;
      check(name);
      unlisted++;
    }
    const tlds = ['com', 'net', 'org', 'xyz', 'uk', 'de', 'top', 'example'];
    while (unlisted < 100_000) {
      const a = next().toString(36);
      const name =
        next() % 2
          ? `${a}.${tlds[next() % tlds.length]}`
          : `${a}.${names[next() % names.length].split('.').slice(-2).join('x.')}`;
      if (listed.has(name)) continue;
      check(name);
      unlisted++;
    }
    t.equal(mismatches, 0, `compiled == reference on ${checked} lookups (${unlisted} unlisted names)`);
    t.ok(checked > 3 * names.length * 0.9 + 100_000);
  },
);
