/**
 * Where Node's compile cache goes (src/compile-cache.ts): Node's own variables first, then the
 * --config file's stateDir, then a per-user cache folder, else off; never the shared temp folder.
 */
import t from 'tap';
import { chooseCompileCache } from '../src/compile-cache.js';

const files: Record<string, string> = {
  '/etc/roje/roje.yaml': 'listen: [":53"]\nstateDir: /var/lib/roje   # kept\n',
  '/etc/roje/quoted.yaml': "stateDir: 'state dir'\n",
  '/etc/roje/none.yaml': 'stateDir: null\n',
  '/etc/roje/absent.yaml': 'listen: [":53"]\n',
  '/etc/roje/roje.json': '{\n  "listen": [":53"],\n  "stateDir": "/srv/roje"\n}\n',
};
const read = (file: string) => {
  const text = files[file];
  if (text === undefined) throw new Error('ENOENT');
  return text;
};
const home = { HOME: '/home/roje' };

t.test('the --config file stateDir wins', async (t) => {
  t.same(chooseCompileCache(['serve', '--config', '/etc/roje/roje.yaml'], home, read), {
    kind: 'dir',
    dir: '/var/lib/roje/compile-cache',
    from: 'stateDir',
  });
  t.match(
    chooseCompileCache(['check-config', '/etc/roje/roje.yaml'], {}, read),
    {
      dir: '/var/lib/roje/compile-cache',
    },
    'check-config FILE',
  );
  t.same(chooseCompileCache(['compile', '--config=/etc/roje/roje.json'], {}, read), {
    kind: 'dir',
    dir: '/srv/roje/compile-cache',
    from: 'stateDir',
  });
  t.match(
    chooseCompileCache(['serve', '--config', '/etc/roje/quoted.yaml'], {}, read),
    {
      dir: '/etc/roje/state dir/compile-cache',
    },
    'relative to the config file, as the config resolves it',
  );
});

t.test('no stateDir: the per-user cache folder, else off', async (t) => {
  for (const file of ['/etc/roje/none.yaml', '/etc/roje/absent.yaml', '/etc/roje/missing.yaml']) {
    t.same(chooseCompileCache(['serve', '--config', file], home, read), {
      kind: 'dir',
      dir: '/home/roje/.cache/roje/compile-cache',
      from: 'user-cache',
    });
  }
  t.match(chooseCompileCache(['version'], { XDG_CACHE_HOME: '/c', HOME: '/h' }, read), {
    dir: '/c/roje/compile-cache',
  });
  t.match(chooseCompileCache(['version'], { XDG_CACHE_HOME: 'rel', HOME: '/h' }, read), { kind: 'off' });
  t.same(chooseCompileCache(['serve'], {}, read), { kind: 'off' }, 'no HOME (a DynamicUser service): off');
});

t.test("Node's own variables are left to decide", async (t) => {
  const argv = ['serve', '--config', '/etc/roje/roje.yaml'];
  t.same(chooseCompileCache(argv, { NODE_COMPILE_CACHE: '/x' }, read), { kind: 'node-env' });
  t.same(chooseCompileCache(argv, { NODE_DISABLE_COMPILE_CACHE: '1' }, read), { kind: 'node-env' });
});

t.test('never the shared temp folder', async (t) => {
  for (const env of [{}, home, { TMPDIR: '/tmp' }]) {
    const c = chooseCompileCache(['serve'], env, read);
    t.notMatch(c.kind === 'dir' ? c.dir : '', /^\/tmp/);
  }
});
