/** `roje token` and the admin listener of a real `roje serve` process. */
import t from 'tap';
import { request } from 'undici';
import { hashToken } from '../../src/admin/auth.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { runRoje, spawnRoje } from '../helpers/process.js';
import { udpUrl } from '../helpers/roje.js';

t.test('roje token prints a token once and the hashed entry for the config', async (t) => {
  const r = await runRoje(['token', '--name', 'alba', '--role', 'operator']);
  t.equal(r.code, 0, r.stderr);
  const token = /^\s+(roje_[A-Za-z0-9_-]{43})$/m.exec(r.stdout)?.[1];
  t.ok(token, 'a token of 32 random bytes');
  t.match(r.stdout, `- { name: alba, role: operator, sha256: ${hashToken(token as string)} }`);
  const again = await runRoje(['token', '--name', 'alba', '--role', 'operator']);
  t.not(again.stdout, r.stdout, 'a new token every time');
  for (const args of [
    ['--name', 'x', '--role', 'root'],
    ['--role', 'admin'],
    ['--name', 'a b', '--role', 'admin'],
    ['--what'],
  ]) {
    const bad = await runRoje(['token', ...args]);
    t.equal(bad.code, 2, args.join(' '));
    t.match(bad.stderr, /roje token: /);
  }
});

t.test('serve --admin: the admin API listens where the flag says', async (t) => {
  const fake = await startFakeUpstream();
  t.teardown(() => fake.close());
  const roje = spawnRoje(
    ['serve', '--listen', '127.0.0.1:0', '--upstream', udpUrl(fake), '--admin', '127.0.0.1:0'],
    { t },
  );
  const { line } = await roje.ready();
  t.match(line.admin, /^127\.0\.0\.1:\d+$/);
  const res = await request(`http://${line.admin as string}/health`);
  t.equal(res.statusCode, 200);
  t.same(await res.body.json(), { status: 'ok' });
  t.ok(
    roje
      .logs()
      .some(
        (l) => l.msg === 'admin API: no tokens configured (admin.tokens); only /health and /ready answer',
      ),
    'no tokens: said at start',
  );
  roje.kill('SIGTERM');
  t.equal((await roje.waitForExit()).code, 0);
});
