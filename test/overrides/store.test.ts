import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createOverridesStore, MAX_NOTE } from '../../src/overrides/store.js';

const venues = () => ['cafe', 'library'];

t.test('validates, normalises, answers duplicates, refuses conflicts and abuse names', async (t) => {
  const store = createOverridesStore({ path: null, venues, abuseBlocks: (n) => n === 'bad.example' });
  const { override, created } = await store.add({
    name: ' WWW.Example.COM. ',
    action: 'allow',
    venue: 'cafe',
    who: 'ops',
  });
  t.ok(created);
  t.match(override, { name: 'www.example.com', action: 'allow', venue: 'cafe', note: '', who: 'ops' });
  t.match(override.id, /^o-[0-9a-f]{12}$/);
  t.equal(
    (await store.add({ name: 'bücher.example', action: 'deny', venue: null, who: 'ops' })).override.name,
    'xn--bcher-kva.example',
    'IDN to A-label',
  );
  t.equal(
    (await store.add({ name: '*.wild.example', action: 'deny', venue: null, who: 'ops' })).override.name,
    'wild.example',
  );
  const again = await store.add({
    name: 'www.example.com',
    action: 'allow',
    venue: 'cafe',
    note: 'x',
    who: 'bob',
  });
  t.equal(again.created, false);
  t.equal(again.override.id, override.id, 'the existing entry');
  await t.rejects(store.add({ name: 'www.example.com', action: 'deny', venue: 'cafe', who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_CONFLICT',
  });
  t.equal(
    (await store.add({ name: 'www.example.com', action: 'deny', venue: 'library', who: 'ops' })).created,
    true,
    'another venue',
  );
  await t.rejects(store.add({ name: 'a..b', action: 'allow', venue: null, who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_INVALID',
  });
  await t.rejects(store.add({ name: 'com', action: 'allow', venue: null, who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_INVALID',
  });
  await t.rejects(store.add({ name: '1.2.3.4', action: 'allow', venue: null, who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_INVALID',
  });
  await t.rejects(
    store.add({
      name: 'ok.example',
      action: 'allow',
      venue: null,
      note: 'n'.repeat(MAX_NOTE + 1),
      who: 'ops',
    }),
    { code: 'ROJE_ERR_OVERRIDE_INVALID' },
  );
  await t.rejects(store.add({ name: 'ok.example', action: 'allow', venue: 'nowhere', who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_VENUE_UNKNOWN',
    message: /nowhere.*cafe, library/,
  });
  const abuse = await store.add({ name: 'BAD.example', action: 'allow', venue: null, who: 'ops' }).then(
    () => null,
    (err: Error & { code?: string }) => err,
  );
  t.equal(abuse?.code, 'ROJE_ERR_OVERRIDE_ABUSE');
  t.notMatch(String(abuse?.message), /bad/i, 'the message does not name the name');
  t.equal(
    (await store.add({ name: 'bad.example', action: 'deny', venue: null, who: 'ops' })).created,
    true,
    'a deny is fine',
  );
  await t.rejects(store.remove('o-000000000000'), { code: 'ROJE_ERR_OVERRIDE_NOT_FOUND' });
  t.equal((await store.remove(override.id)).id, override.id);
  t.equal(store.list().length, 4);
});

t.test('each change swaps the overlay whole and tells the listener', async (t) => {
  const store = createOverridesStore({ path: null, venues, abuseBlocks: () => false });
  const seen: number[] = [];
  store.onChange((o) => seen.push(o.entries.length));
  const before = store.overlay();
  await store.add({ name: 'a.example', action: 'allow', venue: null, who: 'ops' });
  t.not(store.overlay(), before, 'a new overlay');
  t.ok(Object.isFrozen(store.overlay().entries));
  await store.add({ name: 'a.example', action: 'allow', venue: null, who: 'ops' });
  t.same(seen, [1], 'a duplicate changes nothing');
});

t.test('persisted atomically in stateDir and loaded at start; a bad file stops the start', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'state', 'overrides.json');
  const a = createOverridesStore({ path, venues, abuseBlocks: () => false });
  await a.load(); // absent: none
  const { override } = await a.add({
    name: 'kept.example',
    action: 'allow',
    venue: 'cafe',
    note: 'craft',
    who: 'ops',
  });
  const file = JSON.parse(readFileSync(path, 'utf8'));
  t.same(file, { version: 1, overrides: [override] });
  const b = createOverridesStore({ path, venues, abuseBlocks: () => false });
  await b.load();
  t.same(b.list(), [override]);

  writeFileSync(path, '{"version": 1, "overrides": [{"id": "o-1", "name": "x.example", "action": "maybe"}]}');
  await t.rejects(createOverridesStore({ path, venues, abuseBlocks: () => false }).load(), {
    code: 'ROJE_ERR_OVERRIDE_READ',
    message: /action must be allow or deny/,
  });
  writeFileSync(path, 'not json');
  await t.rejects(createOverridesStore({ path, venues, abuseBlocks: () => false }).load(), {
    code: 'ROJE_ERR_OVERRIDE_READ',
  });

  // A file that cannot be written: the change is refused and not put in force.
  const blocked = createOverridesStore({
    path: join(path, 'under-a-file.json'),
    venues,
    abuseBlocks: () => false,
  });
  await t.rejects(blocked.add({ name: 'x.example', action: 'deny', venue: null, who: 'ops' }), {
    code: 'ROJE_ERR_OVERRIDE_WRITE',
  });
  t.equal(blocked.list().length, 0);
});
