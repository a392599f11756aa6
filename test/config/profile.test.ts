/** `profile`: friendly-wifi by default, none on request; a misspelt profile is refused, naming the key. */
import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { validateConfig } from '../../src/config/load.js';

const FILE = '/etc/roje/roje.yaml';
const UP = ['udp://127.0.0.1:5300'];

t.test('friendly-wifi unless the file says none', async (t) => {
  t.equal((await validateConfig({ upstreams: UP }, FILE)).profile, 'friendly-wifi');
  t.equal((await validateConfig({ upstreams: UP, profile: 'none' }, FILE)).profile, 'none');
});

t.test('a typo or another type is refused with the expected values', async (t) => {
  for (const profile of ['friendlywifi', 'Friendly-WiFi', true, null]) {
    const err = await validateConfig({ upstreams: UP, profile }, FILE).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof ConfigError, JSON.stringify(profile));
    t.equal((err as ConfigError).key, 'profile');
    t.match((err as ConfigError).message, /profile: expected friendly-wifi or none, got/);
  }
});
