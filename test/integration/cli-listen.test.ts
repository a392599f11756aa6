/**
 * `roje serve` and its listen addresses as a process: a port already taken (exit 1, a message that
 * says so), IPv6 loopback, and the embedded default (127.0.0.1:5353 and [::1]:5353, upstreams from
 * /etc/resolv.conf), which is only started and stopped, never queried: its upstream is not loopback.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { nameserverUrl } from '../../src/config/resolv-conf.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { binaryProblem, dig, hostNameservers, runRoje, spawnRoje } from '../helpers/process.js';

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => resolve(socket));
  });
}

function bindTcp(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const portOf = (s: UdpSocket | Server) => (s.address() as { port: number }).port;

async function canBind(host: string): Promise<boolean> {
  try {
    (await bindUdp(host, 0)).close();
    return true;
  } catch {
    return false;
  }
}

const problem = binaryProblem();
if (problem !== null) {
  t.fail(problem);
  t.end();
} else {
  // Started for the address-in-use cases; nobody queries those, but the upstream must be loopback.
  const safeUpstream = 'udp://127.0.0.1:9';

  t.test('listen address in use: exit 1, stderr names the address and the cause', async (t) => {
    const inUse = '(already in use; another process (often another DNS server) holds this port)';
    const serve = (listen: string[]) => {
      const argv = ['serve', ...listen.flatMap((l) => ['--listen', l]), '--upstream', safeUpstream];
      return runRoje(argv, { t }).then((r) => ({ argv: argv.join(' '), r }));
    };
    const check = ({ argv, r }: Awaited<ReturnType<typeof serve>>, stderr: string) => {
      t.same([r.code, r.signal], [1, null], argv);
      t.equal(r.stderr, stderr, argv);
      const fatal = r.logs.find((l) => l.msg === 'cannot start');
      t.equal(fatal?.level, 'fatal');
      t.equal((fatal?.err as { code?: string } | undefined)?.code, 'ROJE_ERR_LISTEN_FAILED');
      t.notOk(
        r.logs.some((l) => /ready$/.test(l.msg ?? '')),
        'never says ready',
      );
    };

    const udp = await bindUdp('127.0.0.1', 0);
    t.teardown(() => udp.close());
    const udpPort = portOf(udp);
    check(
      await serve([`127.0.0.1:${udpPort}`]),
      `roje: cannot listen on udp 127.0.0.1:${udpPort}: EADDRINUSE ${inUse}\n`,
    );
    // The first address binds, the second fails: roje closes the first and exits.
    check(
      await serve(['127.0.0.1:0', `127.0.0.1:${udpPort}`]),
      `roje: cannot listen on udp 127.0.0.1:${udpPort}: EADDRINUSE ${inUse}\n`,
    );
    // A documentation address (RFC 5737) no interface has: bind fails, no packet is sent.
    check(
      await serve(['192.0.2.1:5353']),
      'roje: cannot listen on udp 192.0.2.1:5353: EADDRNOTAVAIL (address not available; this host has no interface with that address)\n',
    );

    // TCP is taken here but UDP is free: DNS needs both on one port. Another program may hold that
    // UDP port, though (roje then fails on udp): the case is tried again on a new TCP port.
    for (let attempt = 1; ; attempt++) {
      const tcp = await bindTcp('127.0.0.1', 0);
      t.teardown(() => new Promise((resolve) => tcp.close(resolve)));
      const tcpPort = portOf(tcp);
      const run = await serve([`127.0.0.1:${tcpPort}`]);
      if (
        attempt < 5 &&
        run.r.stderr.startsWith(`roje: cannot listen on udp 127.0.0.1:${tcpPort}: EADDRINUSE`)
      ) {
        continue;
      }
      check(run, `roje: cannot listen on tcp 127.0.0.1:${tcpPort}: EADDRINUSE ${inUse}\n`);
      break;
    }
  });

  const noIpv6 = !(await canBind('::1')) && '::1 is not available on this host';
  t.test('--listen [::1]:0 answers over IPv6', { skip: noIpv6 }, async (t) => {
    const up = await startFakeUpstream({ host: '::1' });
    t.teardown(() => up.close());
    up.zone.set('v6.example.test', 'AAAA', [{ data: '2001:db8::1', ttl: 300 }]);
    const upstream = `udp://[::1]:${up.port}`;
    const roje = spawnRoje(['serve', '--listen', '[::1]:0', '--upstream', upstream], { t });
    const { line, addresses } = await roje.ready();
    t.same(line.upstreams, [upstream]);
    t.equal(addresses.length, 1);
    const [server] = addresses;
    t.equal(server.host, '::1');
    t.match(line.listen, [`udp+tcp [::1]:${server.port}`]);
    for (const tcp of [false, true]) {
      const r = await dig(server, 'v6.example.test', 'AAAA', { tcp });
      t.equal(r.status, 'NOERROR', `tcp: ${tcp}`);
      t.same(
        r.answers.map((a) => [a.name, a.type, a.data]),
        [['v6.example.test.', 'AAAA', '2001:db8::1']],
      );
    }
    t.equal(up.queriesFor('v6.example.test'), 1, 'the TCP answer came from the cache');
    roje.kill('SIGTERM');
    t.same(await roje.waitForExit(), { code: 0, signal: null });
  });

  // This roje's upstreams are the host's real resolvers: it is started and stopped, never queried.
  // Port 5353 is not this test's to reserve (mDNS responders and other test runs use it): when another
  // program holds it, roje must fail naming the default address it tried, and that is checked instead.
  const nameservers = hostNameservers();
  const noDefault =
    nameservers.length === 0
      ? '/etc/resolv.conf has no nameserver'
      : !(await canBind('::1')) && '::1 is not available on this host';
  t.test(
    'roje serve with no flags: 127.0.0.1:5353 and [::1]:5353, resolv.conf upstreams',
    { skip: noDefault },
    async (t) => {
      const roje = spawnRoje(['serve'], { t });
      const started = await roje.ready().catch((err: unknown) => {
        const inUse = /^roje: cannot listen on (udp|tcp) (127\.0\.0\.1|\[::1\]):5353: EADDRINUSE /;
        if (!inUse.test(roje.stderr())) throw err;
        return null;
      });
      if (started === null) {
        t.comment(`another program holds port 5353: ${roje.stderr().trim()}`);
        t.same(
          await roje.waitForExit(),
          { code: 1, signal: null },
          'roje tried the default address and said so',
        );
        return;
      }
      const { line, addresses } = started;
      t.equal(line.config, 'embedded default');
      t.same(line.listen, ['udp+tcp 127.0.0.1:5353', 'udp+tcp [::1]:5353']);
      t.same(addresses, [
        { host: '127.0.0.1', port: 5353 },
        { host: '::1', port: 5353 },
      ]);
      t.same(line.upstreams, nameservers.map(nameserverUrl));
      roje.kill('SIGTERM');
      t.same(await roje.waitForExit(), { code: 0, signal: null });
      t.equal(roje.logs().at(-1)?.msg, 'stopped');
      t.equal(roje.stderr(), '');
    },
  );
}
