import t from 'tap';
import { defaultSourceName, SAMPLE_LISTS, SAMPLES_DIR } from '../../src/config/filtering.js';
import { configChecker } from '../helpers/config.js';

// The list, policy and venue keys: normalized forms, and an error naming the key for each bad value.

const FILE = '/etc/roje/roje.yaml';
const UP = ['udp://127.0.0.1:5300'];

const { load, fail } = configChecker(FILE, UP);

t.test('lists: paths relative to the config file, names defaulted and unique', async (t) => {
  const cfg = await load({
    lists: [
      { category: 'adult', path: 'lists/nsfw.txt' },
      { category: 'gambling', path: '/data/gambling.rpz.gz', format: 'rpz', name: 'hagezi-gambling' },
      { category: 'gambling', path: '/ut1/gambling/domains', format: 'squidguard' },
      { category: 'dating', path: '/ut1/dating/domains' },
    ],
  });
  t.same(cfg.lists, [
    { name: 'nsfw', category: 'adult', path: '/etc/roje/lists/nsfw.txt' },
    { name: 'hagezi-gambling', category: 'gambling', path: '/data/gambling.rpz.gz', format: 'rpz' },
    { name: 'domains', category: 'gambling', path: '/ut1/gambling/domains', format: 'squidguard' },
    // Base name taken: the category comes first.
    { name: 'dating-domains', category: 'dating', path: '/ut1/dating/domains' },
  ]);
  t.equal(cfg.listsFrom, 'config');
  t.equal(cfg.compiled, null);
  t.equal(defaultSourceName('/x/hagezi-nsfw.adblock.txt'), 'hagezi-nsfw.adblock');
  t.equal(defaultSourceName('/x/feed.rpz.gz'), 'feed');
});

t.test('lists: null (the default) is the bundled samples; [] is no lists', async (t) => {
  const samples = await load({});
  t.equal(samples.listsFrom, 'samples');
  t.same(samples.lists, SAMPLE_LISTS);
  t.ok(SAMPLE_LISTS.every((l) => l.path.startsWith(SAMPLES_DIR)));
  t.match(SAMPLES_DIR, /\/blocklists\/samples\/$/);
  const none = await load({ lists: [] });
  t.same(none.lists, []);
  t.equal(none.listsFrom, 'config');
});

t.test('lists: bad entries name the key and the expected form', async (t) => {
  let err = await fail({ lists: [{ category: 'Adult', path: 'x' }] });
  t.equal(err.key, 'lists[0].category');
  t.match(err.message, /lists\[0\]\.category: expected a category name of lowercase letters.*got "Adult"/);
  err = await fail({ lists: [{ category: 'adult sites', path: 'x' }] });
  t.equal(err.key, 'lists[0].category');
  err = await fail({ lists: [{ category: 'a'.repeat(33), path: 'x' }] });
  t.equal(err.key, 'lists[0].category');
  err = await fail({ lists: [{ category: 'adult' }] });
  t.equal(err.key, 'lists[0].path');
  t.match(err.message, /is required/);
  err = await fail({ lists: [{ category: 'adult', path: 'x', format: 'csv' }] });
  t.equal(err.key, 'lists[0].format');
  t.match(err.message, /one of auto, hosts, domains, adblock, rpz, squidguard, abuse, got "csv"/);
  err = await fail({ lists: [{ category: 'adult', path: 'x', fromat: 'rpz' }] });
  t.match(err.message, /unknown key "lists\[0\]\.fromat" \(did you mean "lists\[0\]\.format"\?\)/);
  err = await fail({ lists: [{ category: 'adult', path: 'x', name: 'a b' }] });
  t.equal(err.key, 'lists[0].name');
  err = await fail({ lists: 'nsfw.txt' });
  t.equal(err.key, 'lists');
  err = await fail({
    lists: [
      { category: 'adult', path: 'a.txt', name: 'same' },
      { category: 'gambling', path: 'b.txt', name: 'same' },
    ],
  });
  t.equal(err.key, 'lists[1].name');
  t.match(err.message, /"same" is already used/);
});

t.test('compiled: a path relative to the config file; null by default', async (t) => {
  t.equal((await load({ compiled: 'lists.roje' })).compiled, '/etc/roje/lists.roje');
  const err = await fail({ compiled: '' });
  t.equal(err.key, 'compiled');
  t.equal((await fail({ compiled: 5 })).key, 'compiled');
});

t.test('--list and --compiled replace the file', async (t) => {
  const cfg = await load(
    { lists: [{ category: 'x', path: 'x.txt' }], compiled: 'c.roje' },
    { lists: ['adult=/data/nsfw.txt', 'gambling=rel/g.hosts'] },
  );
  t.same(cfg.lists, [
    { name: 'nsfw', category: 'adult', path: '/data/nsfw.txt' },
    { name: 'g', category: 'gambling', path: `${process.cwd()}/rel/g.hosts` },
  ]);
  t.equal(cfg.listsFrom, 'flags');
  t.equal(cfg.compiled, null, "--list wins over the file's compiled artifact");
  const c = await load({ compiled: 'c.roje' }, { compiled: 'other.roje' });
  t.equal(c.compiled, `${process.cwd()}/other.roje`);

  let err = await fail({}, { lists: ['adult'] });
  t.equal(err.key, '--list');
  t.match(err.message, /^--list "adult": expected CATEGORY=PATH/);
  err = await fail({}, { lists: ['Adult=/x'] });
  t.match(err.message, /the category "Adult" is not a category name/);
  err = await fail({}, { lists: ['adult='] });
  t.match(err.message, /the path is empty/);
  err = await fail({}, { lists: ['adult=/x/a.txt', 'adult=/x/a.txt'] });
  t.match(err.message, /is given twice/);
  err = await fail({}, { lists: ['adult=/x'], compiled: '/y' });
  t.equal(err.key, '--compiled');
  t.match(err.message, /exclude each other/);
});

t.test('blockTtl and blockPage', async (t) => {
  const cfg = await load({ blockTtl: '5m', blockPage: { ipv4: '192.0.2.1', ipv6: '2001:db8::1' } });
  t.equal(cfg.blockTtl, 300);
  let err: Awaited<ReturnType<typeof fail>>;
  t.match(cfg.blockPage, {
    ipv4: '192.0.2.1',
    ipv6: '2001:db8::1',
    listen: [],
    refuseTls: [],
    defaultLang: 'sq',
  });
  const page = await load({
    blockPage: {
      listen: ['127.0.0.1:8080'],
      refuseTls: ['127.0.0.1:8443'],
      operatorName: { sq: 'Bashkia', en: 'City' },
    },
  });
  t.same(page.blockPage.listen, [{ host: '127.0.0.1', port: 8080 }]);
  t.same(page.blockPage.refuseTls, [{ host: '127.0.0.1', port: 8443 }]);
  err = await fail({ blockPage: { listen: ['127.0.0.1'] } });
  t.equal(err.key, 'blockPage.listen[0]');
  err = await fail({ blockPage: { help: { helpline: { number: 'call us' } } } });
  t.equal(err.key, 'blockPage.help');
  t.match(err.message, /not a phone number/);
  err = await fail({ blockPage: { help: { reportPortal: { url: 'javascript:alert(1)' } } } });
  t.equal(err.key, 'blockPage.help');
  err = await fail({ blockTtl: 60 });
  t.equal(err.key, 'blockTtl');
  t.match(err.message, /add a unit/);
  err = await fail({ blockTtl: '1500ms' });
  t.equal(err.key, 'blockTtl');
  err = await fail({ blockTtl: '2d' });
  t.match(err.message, /blockTtl: expected a duration from "0s" to "1d"/);
  err = await fail({ blockPage: { ipv4: '192.0.2' } });
  t.equal(err.key, 'blockPage.ipv4');
  t.match(err.message, /expected an IPv4 address/);
  err = await fail({ blockPage: { ipv6: '192.0.2.1' } });
  t.equal(err.key, 'blockPage.ipv6');
  err = await fail({ blockPage: { ipv5: null } });
  t.match(err.message, /unknown key "blockPage\.ipv5"/);
});

t.test('policies: defaults filled in, names normalized, "default" always present', async (t) => {
  const cfg = await load({
    blockPage: { ipv4: '192.0.2.1' },
    policies: {
      school: {
        block: ['adult', 'gambling', 'adult', 'abuse'],
        blockMode: 'blockpage',
        allow: ['Wikipedia.ORG.', 'bücher.example'],
        deny: ['games.example', 'games.example'],
      },
      cafe: { block: ['abuse'] },
    },
  });
  // SafeSearch is on by default (README "SafeSearch").
  const safeSearch = { google: true, bing: true, duckduckgo: true, youtube: 'moderate' };
  t.same(cfg.policies, {
    default: { block: 'all', blockMode: 'nxdomain', optionalCategories: [], allow: [], deny: [], safeSearch },
    school: {
      block: ['adult', 'gambling', 'abuse'],
      blockMode: 'blockpage',
      optionalCategories: [],
      allow: ['wikipedia.org', 'xn--bcher-kva.example'],
      deny: ['games.example'],
      safeSearch,
    },
    cafe: {
      block: ['abuse'],
      blockMode: 'nxdomain',
      optionalCategories: [],
      allow: [],
      deny: [],
      safeSearch,
    },
  });
  const own = await load({ policies: { default: { block: ['adult', 'abuse'], blockMode: 'refused' } } });
  t.same(own.policies, {
    default: {
      block: ['adult', 'abuse'],
      blockMode: 'refused',
      optionalCategories: [],
      allow: [],
      deny: [],
      safeSearch,
    },
  });
});

t.test('policies: errors name the key', async (t) => {
  let err = await fail({ policies: { default: { blockMode: 'blockpage' } } });
  t.equal(err.key, 'policies.default.blockMode');
  t.match(err.message, /set blockPage\.ipv4 or blockPage\.ipv6/);
  err = await fail({ policies: { default: { blockMode: 'drop' } } });
  t.equal(err.key, 'policies.default.blockMode');
  t.match(err.message, /expected one of blockpage, nxdomain, null, refused, got "drop"/);
  err = await fail({ policies: { default: { block: 'some' } } });
  t.equal(err.key, 'policies.default.block');
  err = await fail({ policies: { default: { block: ['adult!'] } } });
  t.equal(err.key, 'policies.default.block[0]');
  err = await fail({ policies: { default: { allow: ['bad name.example'] } } });
  t.equal(err.key, 'policies.default.allow[0]');
  t.match(err.message, /expected a domain name.*got "bad name\.example" \(bad character\)/);
  err = await fail({ policies: { default: { deny: [`${'a'.repeat(64)}.example`] } } });
  t.equal(err.key, 'policies.default.deny[0]');
  t.match(err.message, /label too long/);
  err = await fail({ policies: { 'my policy': {} } });
  t.equal(err.key, 'policies.my policy');
  t.match(err.message, /"my policy" is not a valid name/);
  err = await fail({ policies: { default: { blocks: 'all' } } });
  t.match(
    err.message,
    /unknown key "policies\.default\.blocks" \(did you mean "policies\.default\.block"\?\)/,
  );
});

t.test('venues: networks canonical, policies must exist, a network belongs to one venue', async (t) => {
  const cfg = await load({
    policies: { library: { block: ['adult', 'abuse'] } },
    venues: [
      { name: 'tirana-library', networks: ['192.168.10.0/24', 'FD00:10::/64'], policy: 'library' },
      { name: 'kids-corner', networks: ['192.168.10.128/25'], policy: 'default' },
    ],
  });
  t.same(cfg.venues, [
    { name: 'tirana-library', networks: ['192.168.10.0/24', 'fd00:10::/64'], policy: 'library' },
    { name: 'kids-corner', networks: ['192.168.10.128/25'], policy: 'default' },
  ]);

  let err = await fail({ venues: [{ name: 'a', networks: ['10.0.0.0/8'], policy: 'school' }] });
  t.equal(err.key, 'venues[0].policy');
  t.match(err.message, /no policy "school" \(policies: default\)/);
  err = await fail({
    venues: [
      { name: 'a', networks: ['10.0.0.0/8'], policy: 'default' },
      { name: 'b', networks: ['10.1.0.0/16', '10.0.0.0/8'], policy: 'default' },
    ],
  });
  t.equal(err.key, 'venues[1].networks[1]');
  t.match(err.message, /10\.0\.0\.0\/8 is already a network of venue "a"/);
  err = await fail({
    venues: [
      { name: 'a', networks: ['fd00::/64'], policy: 'default' },
      { name: 'b', networks: ['fd00:0::/64'], policy: 'default' },
    ],
  });
  t.equal(err.key, 'venues[1].networks[0]', 'the same network written differently');
  err = await fail({
    venues: [
      { name: 'a', networks: ['10.0.0.0/8'], policy: 'default' },
      { name: 'a', networks: ['11.0.0.0/8'], policy: 'default' },
    ],
  });
  t.equal(err.key, 'venues[1].name');
  err = await fail({ venues: [{ name: 'a', networks: ['10.0.0.1/8'], policy: 'default' }] });
  t.equal(err.key, 'venues[0].networks[0]');
  t.match(err.message, /host bits are set/);
  err = await fail({ venues: [{ name: 'a', networks: [], policy: 'default' }] });
  t.equal(err.key, 'venues[0].networks');
  err = await fail({ venues: [{ name: 'a', networks: ['10.0.0.0/8'] }] });
  t.equal(err.key, 'venues[0].policy');
  err = await fail({ venues: [{ name: 'a b', networks: ['10.0.0.0/8'], policy: 'default' }] });
  t.equal(err.key, 'venues[0].name');
});
