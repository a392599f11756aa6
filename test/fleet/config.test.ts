import t from 'tap';
import { validateConfig } from '../../src/config/load.js';

const FILE = '/etc/roje/roje.yaml';
const base = { upstreams: ['udp://127.0.0.1:5300'], stateDir: '/var/lib/roje' };
const pull = { url: 'https://central.example:8053/api/v1/lists/artifact', publicKeyFile: 'fleet.pub' };

t.test('defaults: no fleet', async (t) => {
  const cfg = await validateConfig(base, FILE);
  t.same(cfg.fleet, { publish: { signingKeyFile: null }, pull: null });
});

t.test('an edge: defaults filled in, paths absolute, lists only from the artifact', async (t) => {
  const cfg = await validateConfig(
    {
      ...base,
      fleet: { publish: { signingKeyFile: 'central.key' }, pull: { ...pull, bearerTokenFile: 'edge.token' } },
    },
    FILE,
  );
  t.same(cfg.fleet, {
    publish: { signingKeyFile: '/etc/roje/central.key' },
    pull: {
      url: pull.url,
      signatureUrl: 'https://central.example:8053/api/v1/lists/artifact.sig',
      publicKeyFiles: ['/etc/roje/fleet.pub'],
      bearerTokenFile: '/etc/roje/edge.token',
      intervalMs: 300_000,
      timeoutMs: 30_000,
      maxBytes: 256 * 1024 * 1024,
      tls: null,
    },
  });
  t.same(cfg.lists, [], 'the bundled samples are not used on an edge');
  const more = await validateConfig(
    {
      ...base,
      fleet: {
        pull: {
          ...pull,
          url: 'http://127.0.0.1:8080/l.rojebl?v=1',
          publicKeyFile: ['a.pub', '/k/b.pub'],
          interval: '30s',
          maxBytes: '1MiB',
          caFile: 'ca.pem',
        },
      },
    },
    FILE,
  );
  t.match(more.fleet.pull, {
    signatureUrl: 'http://127.0.0.1:8080/l.rojebl.sig?v=1',
    publicKeyFiles: ['/etc/roje/a.pub', '/k/b.pub'],
    intervalMs: 30_000,
    maxBytes: 1024 * 1024,
    tls: { certFile: null, keyFile: null, caFile: '/etc/roje/ca.pem' },
  });
});

t.test('refused: the error names the file, the key and what was expected', async (t) => {
  const cases: Array<[Record<string, unknown>, Record<string, unknown>, string | null, RegExp]> = [
    [
      { ...base, compiled: 'lists.rojebl', fleet: { pull } },
      {},
      'compiled',
      /cannot be set together with fleet\.pull/,
    ],
    [{ ...base, fleet: { pull } }, { compiled: 'x.rojebl' }, '--compiled', /together with fleet\.pull/],
    [{ ...base, fleet: { pull } }, { lists: ['adult=a.txt'] }, '--list', /together with fleet\.pull/],
    [
      { ...base, lists: [{ category: 'adult', path: 'a.txt' }], fleet: { pull } },
      {},
      'lists',
      /leave out `lists`/,
    ],
    [{ upstreams: base.upstreams, fleet: { pull } }, {}, 'stateDir', /stateDir\/fleet/],
    [{ ...base, fleet: { pull: { ...pull, url: 'ftp://x/y' } } }, {}, 'fleet.pull.url', /the scheme is ftp/],
    [{ ...base, fleet: { pull: { ...pull, url: 'https://u:p@x/y' } } }, {}, 'fleet.pull.url', /credentials/],
    [
      { ...base, fleet: { pull: { ...pull, interval: '1s' } } },
      {},
      'fleet.pull.interval',
      /from "10s" to "1d"/,
    ],
    [
      { ...base, fleet: { pull: { ...pull, clientCertFile: 'c.pem' } } },
      {},
      'fleet.pull.clientKeyFile',
      /both/,
    ],
    [{ ...base, fleet: { pull: { url: pull.url } } }, {}, null, /publicKeyFile/],
    [{ ...base, fleet: { pull: { ...pull, token: 'x' } } }, {}, null, /token/],
  ];
  for (const [raw, flags, key, message] of cases) {
    const err = await validateConfig(raw, FILE, flags).then(
      () => null,
      (e: unknown) => e as { code: string; key: string | null; message: string },
    );
    t.ok(err !== null, message.source);
    t.match(err, { code: 'ROJE_ERR_CONFIG_INVALID', message }, message.source);
    t.match(err?.message, /\/etc\/roje\/roje\.yaml|^--/, 'names the file');
    if (key !== null) t.equal(err?.key, key, `names ${key}`);
  }
});
