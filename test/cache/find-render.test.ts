/**
 * The cache's hit path: find() by question (no key string) reaches what set() stored under
 * cacheKey(), and render() answers exactly what renderResponse() makes of the stored response.
 */
import dnsPacket from 'dns-packet';
import t from 'tap';
import { cacheKey, createDnsCache, keySuffix } from '../../src/cache/dns-cache.js';
import { EDE } from '../../src/dns/constants.js';
import { PRESENTED_NAME, presentName, readName } from '../../src/dns/name.js';
import { prepareResponse } from '../../src/dns/prepare.js';
import { renderResponse } from '../../src/dns/render.js';
import type { PreparedResponse } from '../../src/dns/types.js';
import { rng } from '../helpers/rng.js';
import { stageQuery } from '../helpers/stage.js';

const BOUNDS = { minTtl: 0, maxTtl: 86400, negativeMaxTtl: 3600 };

function setup(serveStale = true) {
  let ms = 5_000_000;
  const cache = createDnsCache(
    { maxEntries: 1000, maxBytes: 1 << 20, serveStale: { enabled: serveStale, maxStale: 3600 } },
    { now: () => ms },
  );
  return { cache, advance: (s: number) => (ms += s * 1000) };
}

/** An upstream answer for `name`: `n` A records with distinct TTLs, and an EDE when asked. */
function prepared(name: string, n = 2, rcode = 0): PreparedResponse {
  const wire = dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: Array.from({ length: n }, (_, i) => ({
      type: 'A' as const,
      name,
      ttl: 300 + 17 * i,
      data: `192.0.2.${i + 1}`,
    })),
  });
  return prepareResponse(wire, BOUNDS);
}

const suffixOf = (q: ReturnType<typeof stageQuery>) =>
  keySuffix(q.qtype, q.qclass, q.edns?.do === true, (q.flags & 0x0010) !== 0);
const keyOf = (q: ReturnType<typeof stageQuery>) =>
  cacheKey({
    name: q.name,
    qtype: q.qtype,
    qclass: q.qclass,
    do: q.edns?.do === true,
    cd: (q.flags & 0x0010) !== 0,
  });

t.test('find() by question reaches the entry set() stored under cacheKey(), in any ASCII case', async (t) => {
  const { cache } = setup();
  const stored = stageQuery('www.example.test');
  cache.set(keyOf(stored), prepared('www.example.test'));
  t.ok(cache.find('www.example.test', suffixOf(stored)) >= 0, 'same question');
  t.ok(cache.find('WWW.Example.TEST', suffixOf(stored)) >= 0, 'another case');
  t.equal(cache.find('www.example.tesu', suffixOf(stored)), -1, 'another name');
  t.equal(cache.find('www.example.test', keySuffix(28, 1, false, false)), -1, 'another type');
  t.equal(cache.find('www.example.test', keySuffix(1, 1, true, false)), -1, 'DO set');
  t.equal(cache.find('www.example.test', keySuffix(1, 1, false, true)), -1, 'CD set');
  t.equal(cache.find('www.example.test', keySuffix(1, 3, false, false)), -1, 'class CH');
  t.same(cache.stats(), { ...cache.stats(), hits: 2, misses: 5 }, 'counted as get() counts');
});

t.test('find() and get() agree over random names, cases, types and flags', async (t) => {
  const { cache } = setup();
  const next = rng(2126);
  const alphabet = 'abcXYZ-09\\.';
  const names: string[] = [];
  for (let i = 0; i < 300; i++) {
    let s = '';
    const len = 1 + (next() % 12);
    for (let j = 0; j < len; j++) s += alphabet[next() % alphabet.length];
    names.push(`${s}.ex`);
  }
  const pick = () => {
    const name = names[next() % names.length];
    const cased = [...name].map((c) => (next() % 2 === 0 ? c.toUpperCase() : c)).join('');
    return {
      name: cased,
      qtype: [1, 28, 65, 300][next() % 4],
      qclass: next() % 5 === 0 ? 3 : 1,
      do: next() % 2 === 0,
      cd: next() % 3 === 0,
    };
  };
  for (let i = 0; i < 400; i++) cache.set(cacheKey(pick()), prepared('x.ex'));
  let found = 0;
  let disagree = 0;
  for (let i = 0; i < 3000; i++) {
    const k = pick();
    const byKey = cache.get(cacheKey(k)) !== undefined;
    const byQuestion = cache.find(k.name, keySuffix(k.qtype, k.qclass, k.do, k.cd)) >= 0;
    if (byKey !== byQuestion) disagree++;
    if (byQuestion) found++;
  }
  t.equal(disagree, 0, 'the same answer both ways');
  t.ok(found > 100, `both ways found something (${found} of 3000)`);
});

t.test('findPresented(): the same entry as find() by name, from the wire, without the name', async (t) => {
  const { cache } = setup();
  // Escaped characters (a dot and a backslash inside a label, a space, a byte over 127), any case, the root.
  const raw = (labels: number[][]) =>
    Buffer.concat([
      Buffer.alloc(12),
      ...labels.map((l) => Buffer.from([l.length, ...l])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
  const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
  const messages = [
    raw([ascii('www'), ascii('example'), ascii('test')]),
    raw([ascii('WWW'), ascii('Example'), ascii('TEST')]),
    raw([ascii('a.b'), ascii('back\\slash'), ascii('test')]),
    raw([[0x20, 0x41, 0xe9, 0x7f], ascii('test')]),
    raw([]),
  ];
  const suffix = keySuffix(1, 1, false, false);
  const stored = new Set<string>();
  for (const msg of messages) {
    const name = readName(msg, 12) ?? '';
    const presented = presentName(msg, 12);
    const before = cache.findPresented(PRESENTED_NAME, presented, suffix);
    t.equal(before >= 0, stored.has(name.toLowerCase()), `${JSON.stringify(name)}: found only once stored`);
    stored.add(name.toLowerCase());
    cache.set(cacheKey({ name, qtype: 1, qclass: 1, do: false, cd: false }), prepared('x.test'));
    const byName = cache.find(name, suffix);
    const bytesNow = presentName(msg, 12);
    t.ok(byName >= 0, `${JSON.stringify(name)}: found by name`);
    t.equal(
      cache.findPresented(PRESENTED_NAME, bytesNow, suffix),
      byName,
      'and by its bytes, the same entry',
    );
    t.equal(cache.findPresented(PRESENTED_NAME, bytesNow, keySuffix(28, 1, false, false)), -1, 'not as AAAA');
  }
  const upper = messages[1] as Buffer;
  t.equal(
    cache.findPresented(PRESENTED_NAME, presentName(upper, 12), suffix),
    cache.find('www.example.test', suffix),
    'any case reaches the lowercase entry',
  );
});

t.test('render() is renderResponse() of the stored response, fresh and stale', async (t) => {
  const { cache, advance } = setup();
  const r = { ...prepared('www.example.test', 3), ede: [{ code: EDE.OTHER, text: 'upstream says' }] };
  for (const edns of [true, false]) {
    const q = stageQuery('WWW.example.TEST', 'A', { id: 0x4242, edns });
    cache.clear();
    cache.set(keyOf(q), r);
    advance(100);
    const hit = cache.find(q.name, suffixOf(q));
    t.ok(hit >= 0);
    t.equal(cache.rcodeOf(hit), r.rcode);
    const want = renderResponse(r, q, { age: 100, udpSize: 1232 });
    t.same(cache.render(hit, q, 1232), want, `fresh, aged 100 s, EDNS ${edns}`);
    advance(400);
    t.equal(cache.find(q.name, suffixOf(q)), -1, 'expired');
    const stale = cache.findStale(q.name, suffixOf(q));
    t.ok(stale >= 0, 'served stale');
    const ede = [{ code: EDE.STALE_ANSWER }];
    t.same(
      cache.render(stale, q, 1232, 30, ede),
      renderResponse(r, q, { age: 500, ttlOverride: 30, ede, udpSize: 1232 }),
      `stale, TTL 30 and EDE 3, EDNS ${edns}`,
    );
  }
});

t.test('a large answer (a sub-range copied as a view) renders the same', async (t) => {
  const { cache } = setup();
  const r = prepared('big.example.test', 60);
  t.ok(r.wire.length > 512, `${r.wire.length} bytes`);
  const q = stageQuery('big.example.test');
  cache.set(keyOf(q), r);
  const hit = cache.find(q.name, suffixOf(q));
  t.same(cache.render(hit, q, 1232), renderResponse(r, q, { age: 0, udpSize: 1232 }));
});
