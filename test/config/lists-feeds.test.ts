import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { configLists, type RawListEntry } from '../../src/config/filtering.js';
import { FEED_DEFAULTS, isFeedSource } from '../../src/feeds/types.js';

// `lists` entries with a `url`: normalized feed settings, and errors that name the key and the form.
// (configLists runs after the schema check; the schema keys themselves are checked in lists.test.ts.)

const FILE = '/etc/roje/roje.yaml';

function lists(entries: RawListEntry[]) {
  return configLists(FILE, entries, '/etc/roje');
}

function fail(entries: RawListEntry[]): ConfigError {
  try {
    lists(entries);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(entries)} to be rejected`);
}

t.test('a url source: defaults, names, relative token files', async (t) => {
  const [feed, tuned, file] = lists([
    { category: 'adult', url: 'https://lists.example/hagezi/nsfw.txt' },
    {
      category: 'abuse',
      url: 'http://feeds.example/iwf?format=domains&key=abc',
      name: 'iwf',
      format: 'abuse',
      refresh: '1h30m',
      bearerTokenFile: 'secrets/iwf.token',
      maxBytes: '8MiB',
      maxShrink: 0.2,
      timeout: '10s',
    },
    { category: 'gambling', path: 'gambling.txt' },
  ]);
  t.ok(isFeedSource(feed));
  t.same(feed, {
    name: 'nsfw',
    category: 'adult',
    path: 'https://lists.example/hagezi/nsfw.txt',
    feed: {
      url: 'https://lists.example/hagezi/nsfw.txt',
      refreshMs: 6 * 3_600_000,
      bearerTokenFile: null,
      tls: null,
      maxBytes: 64 * 1024 * 1024,
      maxShrink: 0.5,
      timeoutMs: 30_000,
    },
  });
  t.same(tuned, {
    name: 'iwf',
    category: 'abuse',
    // The query's values are secrets as far as messages go.
    path: 'http://feeds.example/iwf?format=REDACTED&key=REDACTED',
    format: 'abuse',
    feed: {
      url: 'http://feeds.example/iwf?format=domains&key=abc',
      refreshMs: 90 * 60_000,
      bearerTokenFile: '/etc/roje/secrets/iwf.token',
      tls: null,
      maxBytes: 8 * 1024 * 1024,
      maxShrink: 0.2,
      timeoutMs: 10_000,
    },
  });
  t.notOk(isFeedSource(file));
  t.same(file, { name: 'gambling', category: 'gambling', path: '/etc/roje/gambling.txt' });
  t.equal(FEED_DEFAULTS.minRefreshMs, 60_000);
});

t.test('default names from the URL; collisions take the category', async (t) => {
  const out = lists([
    { category: 'adult', url: 'https://a.example/lists/domains' },
    { category: 'gambling', url: 'https://b.example/lists/domains' },
    { category: 'dating', url: 'https://dating.example/' },
  ]);
  t.same(
    out.map((s) => s.name),
    ['domains', 'gambling-domains', 'dating'],
  );
  const err = fail([{ category: 'adult', url: 'https://a.example/%E2%9C%93list.txt' }]);
  t.equal(err.key, 'lists[0]');
  t.match(err.message, /cannot name its downloaded copy: give the list a `name`/);
});

t.test('exactly one of path and url', async (t) => {
  let err = fail([{ category: 'adult' }]);
  t.equal(err.key, 'lists[0].path');
  t.match(
    err.message,
    /^config error in \/etc\/roje\/roje\.yaml: lists\[0\]\.path: is required: give `path` \(a file\) or `url`/,
  );
  t.equal(err.expected, 'either `path` (a file) or `url` (an http:// or https:// URL)');
  err = fail([
    { category: 'adult', path: 'a.txt' },
    { category: 'adult', path: 'b.txt', url: 'https://x.example/b.txt' },
  ]);
  t.equal(err.key, 'lists[1].url');
  t.match(err.message, /give `path` or `url`, not both/);
  err = fail([{ category: 'adult', path: 'a.txt', refresh: '1h' }]);
  t.equal(err.key, 'lists[0].refresh');
  t.match(err.message, /`refresh` applies to a list fetched from a `url`, not to a file/);
  t.equal(fail([{ category: 'adult', path: 'a.txt', bearerTokenFile: 't' }]).key, 'lists[0].bearerTokenFile');
});

t.test('bad feed values name the key and the expected form', async (t) => {
  const cases: Array<[Partial<RawListEntry>, string, RegExp]> = [
    [
      { url: 'ftp://x.example/a.txt' },
      'url',
      /expected an http:\/\/ or https:\/\/ URL .*\(the scheme is ftp\)/,
    ],
    [{ url: 'lists.example/a.txt' }, 'url', /expected an http:\/\/ or https:\/\/ URL.*\(not a URL\)/],
    [{ url: 'https://me:pw@x.example/a.txt' }, 'url', /credentials in the URL .* `bearerTokenFile`/],
    [{ refresh: '30s' }, 'refresh', /expected a duration of at least "1m", such as "6h", got "30s"/],
    [{ refresh: 'often' }, 'refresh', /got "often"/],
    [{ refresh: 0 }, 'refresh', /at least "1m"/],
    [{ timeout: '500ms' }, 'timeout', /expected a duration from "1s" to "10m"/],
    [{ timeout: '1h' }, 'timeout', /from "1s" to "10m"/],
    [{ maxBytes: '100B' }, 'maxBytes', /expected a size from "1KiB" to "4GiB"/],
    [{ maxBytes: '5GiB' }, 'maxBytes', /"1KiB" to "4GiB"/],
    [{ maxBytes: 'lots' }, 'maxBytes', /got "lots"/],
    [{ maxShrink: 1.5 }, 'maxShrink', /expected a fraction from 0 to 1, such as 0.5, got 1.5/],
    [{ maxShrink: -0.1 }, 'maxShrink', /got -0.1/],
  ];
  for (const [entry, key, message] of cases) {
    const err = fail([{ category: 'adult', url: 'https://x.example/a.txt', ...entry }]);
    t.equal(err.key, `lists[0].${key}`, JSON.stringify(entry));
    t.match(err.message, message, JSON.stringify(entry));
    t.equal(err.code, 'ROJE_ERR_CONFIG_INVALID');
  }
  // The message never repeats the credentials.
  t.notMatch(fail([{ category: 'adult', url: 'https://me:pw@x.example/a.txt' }]).message, 'pw');
  t.same(
    lists([
      { category: 'adult', url: 'https://x.example/a.txt', maxShrink: 0, maxBytes: 2048, refresh: '1m' },
    ]).map((s) => (isFeedSource(s) ? [s.feed.maxShrink, s.feed.maxBytes, s.feed.refreshMs] : null)),
    [[0, 2048, 60_000]],
  );
});
