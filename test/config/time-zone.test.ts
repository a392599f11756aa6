import { join } from 'node:path';
import t from 'tap';
import { configChecker } from '../helpers/config.js';

// `timeZone`: the transparency report's zone. An IANA name Intl knows; a mistake names the key.

const dir = t.testdir({});
const FILE = join(dir, 'roje.yaml');
const { load, fail } = configChecker(FILE, ['udp://127.0.0.1:5300']);

t.test('timeZone: UTC by default, an IANA name, canonical as Intl writes it', async (t) => {
  t.equal((await load({})).timeZone, 'UTC');
  t.equal((await load({ timeZone: 'Europe/Tirane' })).timeZone, 'Europe/Tirane');
  t.equal((await load({ timeZone: 'utc' })).timeZone, 'UTC');
});

t.test(
  'a zone that is not one is a config error naming the file, the key and what was expected',
  async (t) => {
    for (const bad of ['Europe/Tiranë', 'CET+1', 'Tirana']) {
      const err = await fail({ timeZone: bad });
      t.equal(err.code, 'ROJE_ERR_CONFIG_INVALID', bad);
      t.equal(err.key, 'timeZone');
      t.match(err.message, FILE);
      t.match(err.message, /IANA time zone name such as "UTC" or "Europe\/Tirane"/);
    }
    t.equal((await fail({ timeZone: '' })).key, 'timeZone', 'empty');
    t.equal((await fail({ timeZone: 2 })).key, 'timeZone', 'not a string');
  },
);
