import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { validateConfig } from '../../src/config/load.js';
import { EXPECTED } from '../../src/config/schema.js';

const FILE = '/etc/roje/roje.yaml';
const UP = ['udp://127.0.0.1:5300'];

async function policies(safeSearch: unknown, withDefault = true) {
  const cfg = await validateConfig(
    {
      upstreams: UP,
      lists: [],
      policies: {
        ...(withDefault ? { default: { block: 'all' } } : {}),
        cafe: { block: 'all', ...(safeSearch === undefined ? {} : { safeSearch }) },
      },
    },
    FILE,
  );
  return cfg.policies;
}

async function fail(safeSearch: unknown): Promise<ConfigError> {
  try {
    await policies(safeSearch);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(safeSearch)} to be rejected`);
}

const ON = { google: true, bing: true, duckduckgo: true, youtube: 'moderate' };

t.test('on by default, YouTube moderate; the added default policy too', async (t) => {
  const p = await policies(undefined, false);
  t.same(p.cafe.safeSearch, ON);
  t.same(p.default.safeSearch, ON, 'the default policy roje adds');
  t.same((await policies(true)).cafe.safeSearch, ON);
});

t.test('false turns every engine off; a mapping overrides the engines it names', async (t) => {
  t.same((await policies(false)).cafe.safeSearch, {
    google: false,
    bing: false,
    duckduckgo: false,
    youtube: 'off',
  });
  t.same((await policies({ youtube: 'strict' })).cafe.safeSearch, { ...ON, youtube: 'strict' });
  t.same((await policies({ bing: false, youtube: 'off' })).cafe.safeSearch, {
    ...ON,
    bing: false,
    youtube: 'off',
  });
  t.same((await policies({})).cafe.safeSearch, ON);
});

t.test('errors name the key and what was expected', async (t) => {
  const word = await fail('yes');
  t.equal(word.key, 'policies.cafe.safeSearch');
  t.equal(word.expected, EXPECTED.safeSearch);
  t.match(word.message, /policies\.cafe\.safeSearch: expected true, false, or a mapping/);

  const mode = await fail({ youtube: 'sttrict' });
  t.equal(mode.key, 'policies.cafe.safeSearch.youtube');
  t.equal(mode.expected, EXPECTED.youtubeMode);
  t.match(mode.message, /got "sttrict"/);

  const engine = await fail({ google: 'on' });
  t.equal(engine.key, 'policies.cafe.safeSearch.google');
  t.equal(engine.expected, EXPECTED.safeSearchEngine);

  const typo = await fail({ gogle: false });
  t.equal(typo.key, 'policies.cafe.safeSearch.gogle');
  t.match(typo.message, /did you mean "policies\.cafe\.safeSearch\.google"/);
});
