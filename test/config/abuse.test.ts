/**
 * The abuse section and the config rules that keep the category mandatory: no switch, no policy that
 * leaves it out (errors name the file, the key and what is expected), the key file's default place,
 * maxAge; and the feed keys for the IWF-style feed: client certificate files and the 30-minute refresh.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ConfigError } from '../../src/config/config-error.js';
import { FEED_DEFAULTS, type FeedListSource } from '../../src/feeds/types.js';
import { configChecker } from '../helpers/config.js';

const FILE = '/etc/roje/roje.yaml';
const { load, fail } = configChecker(FILE);

function expectMessage(t: Test, err: ConfigError, key: string, ...parts: RegExp[]) {
  t.equal(err.code, 'ROJE_ERR_CONFIG_INVALID');
  t.equal(err.key, key);
  t.ok(
    err.message.startsWith(`config error in ${FILE}: ${key}: `),
    `names the file and the key: ${err.message}`,
  );
  for (const p of parts) t.match(err.message, p);
}

t.test('defaults: on, key beside the state, pages counted, 12 h', async (t) => {
  const cfg = await load({ lists: [], stateDir: '/var/lib/roje' });
  t.same(cfg.abuse, { keyFile: '/var/lib/roje/abuse.key', pageEntries: 'count', maxAgeMs: 12 * 3_600_000 });
  const memory = await load({ lists: [] });
  t.equal(memory.abuse.keyFile, null, 'no stateDir: no key file (a key for this process only)');
  const relative = await load({ lists: [], stateDir: 'state' });
  t.equal(relative.abuse.keyFile, '/etc/roje/state/abuse.key', 'relative stateDir: beside the config file');
});

t.test('keyFile, pageEntries and maxAge as given', async (t) => {
  const cfg = await load({
    lists: [],
    stateDir: '/var/lib/roje',
    abuse: { keyFile: 'secrets/abuse.key', pageEntries: 'block-host', maxAge: '2h' },
  });
  t.same(cfg.abuse, {
    keyFile: '/etc/roje/secrets/abuse.key',
    pageEntries: 'block-host',
    maxAgeMs: 7_200_000,
  });
  const abs = await load({ lists: [], abuse: { keyFile: '/srv/k' } });
  t.equal(abs.abuse.keyFile, '/srv/k', 'an absolute keyFile, even without stateDir');
  t.equal((await load({ lists: [], abuse: { enabled: true } })).abuse.pageEntries, 'count');
});

t.test('abuse.enabled: false is refused', async (t) => {
  const err = await fail({ lists: [], abuse: { enabled: false } });
  expectMessage(t, err, 'abuse.enabled', /cannot be switched off/, /leave the key out/);
  t.equal(err.expected, 'true');
});

t.test('a policy whose block list leaves out "abuse" is refused, naming the policy key', async (t) => {
  const err = await fail({
    lists: [],
    policies: {
      default: { block: 'all' },
      cafe: { block: ['adult', 'gambling'] },
    },
  });
  expectMessage(t, err, 'policies.cafe.block', /leaves out "abuse"/, /mandatory/, /add "abuse" to the list/);
  t.match(err.expected, /includes "abuse"/);
  const empty = await fail({ lists: [], policies: { default: { block: [] } } });
  expectMessage(t, empty, 'policies.default.block', /leaves out "abuse"/);

  const ok = await load({
    lists: [{ category: 'adult', path: 'adult.txt' }],
    policies: { default: { block: 'all' }, cafe: { block: ['adult', 'abuse'] }, min: { block: ['abuse'] } },
  });
  t.same(ok.policies.cafe.block, ['adult', 'abuse']);
  t.same(ok.policies.min.block, ['abuse']);
  const dflt = await load({ lists: [], policies: { cafe: { block: ['abuse'] } } });
  t.equal(dflt.policies.default.block, 'all', 'the default roje adds blocks everything');
});

t.test('maxAge shorter than a minute, pageEntries out of range: refused', async (t) => {
  const short = await fail({ lists: [], abuse: { maxAge: '30s' } });
  expectMessage(t, short, 'abuse.maxAge', /30s is too short/);
  const pages = await fail({ lists: [], abuse: { pageEntries: 'block-page' } });
  t.equal(pages.key, 'abuse.pageEntries');
  t.match(pages.message, /count or block-host/);
  const unknown = await fail({ lists: [], abuse: { off: true } });
  t.match(unknown.message, /abuse/);
});

t.test('feed TLS keys: both-or-neither, resolved beside the config file', async (t) => {
  const url = 'https://feeds.example.test/iwf';
  const onlyCert = await fail({ lists: [{ category: 'abuse', url, clientCertFile: 'iwf.crt' }] });
  expectMessage(
    t,
    onlyCert,
    'lists[0].clientKeyFile',
    /is required with the other/,
    /clientCertFile and clientKeyFile/,
  );
  const onlyKey = await fail({ lists: [{ category: 'abuse', url, clientKeyFile: 'iwf.key' }] });
  expectMessage(t, onlyKey, 'lists[0].clientCertFile', /is required with the other/);
  const onFile = await fail({ lists: [{ category: 'adult', path: 'a.txt', caFile: 'ca.pem' }] });
  expectMessage(t, onFile, 'lists[0].caFile', /applies to a list fetched from a `url`/);

  const cfg = await load({
    stateDir: '/var/lib/roje',
    lists: [
      {
        category: 'abuse',
        url,
        name: 'iwf',
        clientCertFile: 'tls/iwf.crt',
        clientKeyFile: '/secure/iwf.key',
        caFile: 'tls/ca.pem',
      },
      { category: 'adult', url: 'https://feeds.example.test/adult', caFile: 'tls/ca.pem' },
      { category: 'gambling', url: 'https://feeds.example.test/gambling' },
    ],
  });
  const [iwf, adult, gambling] = cfg.lists as FeedListSource[];
  t.same(iwf.feed.tls, {
    certFile: join('/etc/roje', 'tls/iwf.crt'),
    keyFile: '/secure/iwf.key',
    caFile: '/etc/roje/tls/ca.pem',
  });
  t.same(adult.feed.tls, { certFile: null, keyFile: null, caFile: '/etc/roje/tls/ca.pem' });
  t.equal(gambling.feed.tls, null);
});

t.test('an abuse feed is checked every 30 minutes unless told otherwise; others every 6 hours', async (t) => {
  t.equal(FEED_DEFAULTS.abuseRefreshMs, 30 * 60_000);
  const cfg = await load({
    stateDir: '/var/lib/roje',
    lists: [
      { category: 'abuse', url: 'https://feeds.example.test/iwf' },
      { category: 'abuse', url: 'https://feeds.example.test/iwf2', name: 'iwf2', refresh: '2h' },
      { category: 'adult', url: 'https://feeds.example.test/adult' },
    ],
  });
  const [iwf, tuned, adult] = cfg.lists as FeedListSource[];
  t.equal(iwf.feed.refreshMs, 30 * 60_000);
  t.equal(tuned.feed.refreshMs, 2 * 3_600_000);
  t.equal(adult.feed.refreshMs, FEED_DEFAULTS.refreshMs);
  t.equal(adult.feed.refreshMs, 6 * 3_600_000);
});

t.test('the bundled samples include the synthetic abuse feed', async (t) => {
  const cfg = await load({});
  t.equal(cfg.listsFrom, 'samples');
  t.match(
    cfg.lists.find((s) => s.category === 'abuse'),
    { name: 'sample-abuse', format: 'abuse', path: /blocklists\/samples\/abuse-test\.txt$/ },
  );
});
