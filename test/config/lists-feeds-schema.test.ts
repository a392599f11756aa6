import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { validateConfig } from '../../src/config/load.js';
import { isFeedSource } from '../../src/feeds/types.js';

// The feed keys of `lists` through the whole config path (schema, then normalization).

const FILE = '/etc/roje/roje.yaml';
const UP = ['udp://127.0.0.1:5300'];

async function fail(raw: Record<string, unknown>): Promise<ConfigError> {
  try {
    await validateConfig({ upstreams: UP, stateDir: '/var/lib/roje', ...raw }, FILE, {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

t.test('a url entry with every feed key is accepted and normalized', async (t) => {
  const cfg = await validateConfig(
    {
      upstreams: UP,
      stateDir: 'state',
      lists: [
        { category: 'adult', url: 'https://lists.example/nsfw.txt', refresh: '12h', maxBytes: '16MiB' },
        {
          category: 'abuse',
          url: 'https://iwf.example/list',
          name: 'iwf',
          bearerTokenFile: 'iwf.token',
          maxShrink: 0.1,
          timeout: '1m',
        },
        { category: 'gambling', path: 'g.txt' },
      ],
    },
    FILE,
    {},
  );
  t.equal(cfg.stateDir, '/etc/roje/state');
  const [a, b, c] = cfg.lists;
  t.ok(isFeedSource(a) && isFeedSource(b));
  t.notOk(isFeedSource(c));
  if (isFeedSource(a))
    t.match(a.feed, { refreshMs: 12 * 3_600_000, maxBytes: 16 * 1024 * 1024, maxShrink: 0.5 });
  if (isFeedSource(b))
    t.match(b.feed, { bearerTokenFile: '/etc/roje/iwf.token', maxShrink: 0.1, timeoutMs: 60_000 });
});

t.test('schema errors on the feed keys name the key and the form', async (t) => {
  let err = await fail({ lists: [{ category: 'adult', url: 'https://x.example/a', maxShrink: 2 }] });
  t.equal(err.key, 'lists[0].maxShrink');
  t.match(err.message, /lists\[0\]\.maxShrink: expected a number from 0 to 1, got 2/);
  err = await fail({ lists: [{ category: 'adult', url: 'https://x.example/a', refresh: '6 hours' }] });
  t.equal(err.key, 'lists[0].refresh');
  err = await fail({ lists: [{ category: 'adult', url: 'https://x.example/a', refresh: '10s' }] });
  t.equal(err.key, 'lists[0].refresh');
  t.match(err.message, /at least "1m"/);
  err = await fail({ lists: [{ category: 'adult', url: 'https://x.example/a', maxbytes: '1MiB' }] });
  t.match(err.message, /unknown key "lists\[0\]\.maxbytes" \(did you mean "lists\[0\]\.maxBytes"\?\)/);
  err = await fail({ lists: [{ category: 'adult' }] });
  t.equal(err.key, 'lists[0].path');
  t.match(err.message, /give `path` \(a file\) or `url`/);
  err = await fail({ lists: [{ category: 'adult', url: 'file:///etc/passwd' }] });
  t.equal(err.key, 'lists[0].url');
  err = await fail({ stateDir: null, lists: [{ category: 'adult', url: 'https://x.example/a' }] });
  t.equal(err.key, 'stateDir');
  t.match(err.message, /lists\[0\] is fetched from a URL .* set stateDir/);
});
