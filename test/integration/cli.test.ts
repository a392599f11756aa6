/**
 * The roje binary's commands as an operator meets them: exit codes, what goes to stdout and what to
 * stderr, and config errors that name the file, the key and the expected form. Nothing here serves
 * DNS; see cli-serve.test.ts for that.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { binaryProblem, hostNameservers, mapLimit, ROJE_BIN, ROOT, runRoje } from '../helpers/process.js';

const problem = binaryProblem();
if (problem !== null) {
  t.fail(problem);
  t.end();
} else {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  // Any roje that starts by mistake gets a loopback upstream nobody answers on, and no query.
  const SAFE_UPSTREAM = 'udp://127.0.0.1:9';

  t.test('version, --version, -v: "roje VERSION" on stdout, exit 0', async (t) => {
    for (const arg of ['version', '--version', '-v']) {
      const r = await runRoje([arg], { t });
      t.equal(r.code, 0, arg);
      t.equal(r.stdout, `roje ${version}\n`, arg);
      t.equal(r.stderr, '', arg);
    }
  });

  t.test('help, --help, -h: usage on stdout, exit 0', async (t) => {
    for (const arg of ['help', '--help', '-h']) {
      const r = await runRoje([arg], { t });
      t.equal(r.code, 0, arg);
      t.match(r.stdout, /^Usage: roje <command> \[options\]\n/, arg);
      t.match(r.stdout, /\n {2}serve \[--config FILE\]/, arg);
      t.match(r.stdout, /\n {2}check-config FILE\n/, arg);
      t.match(r.stdout, /Exit codes: 0 ok, 1 runtime failure/, arg);
      t.equal(r.stderr, '', arg);
    }
  });

  t.test('no command: usage on stderr, exit 2', async (t) => {
    const r = await runRoje([], { t });
    t.equal(r.code, 2);
    t.match(r.stderr, /^Usage: roje <command> \[options\]\n/);
    t.equal(r.stdout, '', 'an error exit writes nothing to stdout');
  });

  t.test('unknown command or flag: exit 2 with what was wrong', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /^roje: unknown command "frobnicate"\n\nUsage: roje <command>/],
      [['--frobnicate'], /^roje: unknown command "--frobnicate"\n/],
      [
        ['serve', '--frobnicate'],
        /^roje serve: Unknown option '--frobnicate'.*\nRun "roje help" for usage\.\n$/,
      ],
      [['serve', '--listen'], /^roje serve: Option '--listen <value>' argument missing.*\nRun "roje help"/],
      [['serve', 'extra', '--listen', '127.0.0.1:0'], /^roje serve: Unexpected argument 'extra'/],
      [['check-config', '--frobnicate', 'x.yaml'], /^roje check-config: Unknown option '--frobnicate'/],
      [['check-config'], /^roje check-config: FILE is missing\nUsage: roje check-config FILE\n$/],
      [['check-config', 'a.yaml', 'b.yaml'], /^roje check-config: give one FILE\n/],
    ];
    await mapLimit(cases, 2, async ([argv, stderr]) => {
      const r = await runRoje(argv, { t });
      t.equal(r.code, 2, argv.join(' '));
      t.match(r.stderr, stderr, argv.join(' '));
      t.equal(r.stdout, '', argv.join(' '));
    });
  });

  t.test('bad config files: exit 2, stderr names the file, the key and the expected form', async (t) => {
    const dir = t.testdir({
      'unknown-key.yaml': `listne: ["127.0.0.1:0"]\nupstreams: ["${SAFE_UPSTREAM}"]\n`,
      'bad-address.yaml': `listen: ["127.0.0.1:99999"]\nupstreams: ["${SAFE_UPSTREAM}"]\n`,
      'bare-duration.yaml': `listen: ["127.0.0.1:0"]\nupstreams: ["${SAFE_UPSTREAM}"]\nupstream: {timeout: 5}\n`,
      'parsecs.yaml': `listen: ["127.0.0.1:0"]\nupstreams: ["${SAFE_UPSTREAM}"]\nupstream: {timeout: 5 parsecs}\n`,
      'syntax.yaml': `listen: ["127.0.0.1:0"]\ncache:\n  maxTtl: 1d\n maxEntries: 5\n`,
      'bad-cidr.yaml': `listen: ["127.0.0.1:0"]\nupstreams: ["${SAFE_UPSTREAM}"]\nacl: {allow: ["10.0.0.0/33"]}\n`,
      'bad-upstream.yaml': `listen: ["127.0.0.1:0"]\nupstreams: ["ftp://127.0.0.1"]\n`,
    });
    const f = (name: string) => join(dir, name);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const cases: Array<[file: string, stderr: RegExp]> = [
      [f('unknown-key.yaml'), /: unknown key "listne" \(did you mean "listen"\?\)\n$/],
      [
        f('bad-address.yaml'),
        /: listen\[0\]: expected host:port such as "127\.0\.0\.1:53" or "\[::1\]:53", got "127\.0\.0\.1:99999" \(the port must be 0-65535\)\n$/,
      ],
      [
        f('bare-duration.yaml'),
        /: upstream\.timeout: expected a duration such as "30s", "5m", "6h" or "1d", got 5 \(a bare number is ambiguous/,
      ],
      [f('parsecs.yaml'), /: upstream\.timeout: expected a duration such as "30s".*, got "5 parsecs"\n$/],
      [
        f('bad-cidr.yaml'),
        /: acl\.allow\[0\]: expected a network such as "10\.0\.0\.0\/8".*, got "10\.0\.0\.0\/33"/,
      ],
      [
        f('bad-upstream.yaml'),
        /: upstreams\[0\]: upstream URL "ftp:\/\/127\.0\.0\.1" is not valid: scheme "ftp:" is not supported; expected udp:\/\/IP\[:port\]/,
      ],
      [f('missing.yaml'), /: cannot read the file: no such file or directory \(ENOENT\)\n$/],
    ];
    const all = cases.flatMap(([file, stderr]) => [
      { argv: ['check-config', file], file, stderr },
      { argv: ['serve', '--config', file], file, stderr },
    ]);
    // The YAML error is the one message that adds a position: FILE:LINE:COL.
    all.push(
      { argv: ['check-config', f('syntax.yaml')], file: f('syntax.yaml'), stderr: /:4:1: YAML syntax: / },
      {
        argv: ['serve', '--config', f('syntax.yaml')],
        file: f('syntax.yaml'),
        stderr: /:4:1: YAML syntax: /,
      },
    );
    await mapLimit(all, 2, async ({ argv, file, stderr }) => {
      const r = await runRoje(argv, { t });
      const what = argv.join(' ');
      t.equal(r.code, 2, `${what}: exit code`);
      t.match(r.stderr, new RegExp(`^roje: config error in ${esc(file)}`), `${what}: names the file`);
      t.match(r.stderr, stderr, `${what}: names the key and the expected form`);
      t.equal(r.stderr.split('\n').length, 2, `${what}: one line`);
      t.equal(r.stdout, '', `${what}: nothing on stdout (no log line, no summary)`);
    });
  });

  t.test('check-config FILE (relative path): a summary, exit 0', async (t) => {
    const dir = t.testdir({
      'roje.yaml': 'listen: ["127.0.0.1:5354"]\nupstreams: ["udp://127.0.0.1:5300"]\nlog: {queries: true}\n',
    });
    const r = await runRoje(['check-config', 'roje.yaml'], { t, cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^roje\.yaml: ok\n/);
    t.match(r.stdout, new RegExp(`\n {2}source {5}${join(dir, 'roje.yaml').replace(/[.]/g, '\\.')}\n`));
    t.match(r.stdout, /\n {2}listen {5}127\.0\.0\.1:5354 \(UDP and TCP\)\n/);
    t.match(r.stdout, /\n {2}upstreams {2}udp:\/\/127\.0\.0\.1:5300 from the config file/);
    t.equal(r.stderr, '');
  });

  // Its upstreams come from /etc/resolv.conf: read (never queried), so the result depends on it.
  const noNameserver = hostNameservers().length === 0 && '/etc/resolv.conf has no nameserver to use';
  t.test(
    'check-config deploy/roje.yaml: the reference config is valid',
    { skip: noNameserver },
    async (t) => {
      const r = await runRoje(['check-config', 'deploy/roje.yaml'], { t });
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, /^deploy\/roje\.yaml: ok\n/);
      t.match(r.stdout, /\n {2}listen {5}127\.0\.0\.1:5353, \[::1\]:5353 \(UDP and TCP\)\n/);
      t.match(r.stdout, /\n {2}upstreams {2}udp:\/\/.*:53 from \/etc\/resolv\.conf/);
      t.equal(r.stderr, '');
    },
  );

  t.test('stdout closed early (| head): exit 0, no stack trace', async (t) => {
    const dir = t.testdir({ 'roje.yaml': `listen: ["127.0.0.1:0"]\nupstreams: ["${SAFE_UPSTREAM}"]\n` });
    for (const command of ['help', `check-config ${join(dir, 'roje.yaml')}`]) {
      // The reader closes its end at once; roje writes afterwards and meets EPIPE.
      const script = `env -u NODE_OPTIONS "${process.execPath}" "${ROJE_BIN}" ${command} | (exec 0<&-; true); echo "\${PIPESTATUS[0]}"`;
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        execFile('bash', ['-c', script], { cwd: ROOT, timeout: 10_000 }, (err, stdout, stderr) =>
          err ? reject(err) : resolve({ stdout, stderr }),
        );
      });
      t.equal(stdout, '0\n', `${command}: exit code`);
      t.equal(stderr, '', `${command}: nothing on stderr`);
    }
  });

  t.test('bad flags: exit 2, the message names the flag and the value', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['serve', '--listen', 'nonsense', '--upstream', SAFE_UPSTREAM],
        /^roje: --listen "nonsense": expected host:port such as "127\.0\.0\.1:53" or "\[::1\]:53" \(add the port, e\.g\. ":53"\)\n$/,
      ],
      [
        ['serve', '--listen', '127.0.0.1:0', '--listen', '127.0.0.1:70000', '--upstream', SAFE_UPSTREAM],
        /^roje: --listen "127\.0\.0\.1:70000": expected host:port.*\(the port must be 0-65535\)\n$/,
      ],
      [
        ['serve', '--listen', '127.0.0.1:0', '--upstream', 'ftp://x'],
        /^roje: --upstream "ftp:\/\/x": upstream URL "ftp:\/\/x" is not valid: scheme "ftp:" is not supported; expected udp:\/\/IP\[:port\]/,
      ],
      [
        ['serve', '--listen', '127.0.0.1:0', '--upstream', 'udp://dns.example'],
        /^roje: --upstream "udp:\/\/dns\.example": .*IP/,
      ],
    ];
    await mapLimit(cases, 2, async ([argv, stderr]) => {
      const r = await runRoje(argv, { t });
      t.equal(r.code, 2, argv.join(' '));
      t.match(r.stderr, stderr, argv.join(' '));
      t.equal(r.stdout, '', argv.join(' '));
    });
  });
}
