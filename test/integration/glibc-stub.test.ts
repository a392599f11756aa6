/**
 * A real stub resolver through roje: glibc's (`getent ahosts`), which only speaks to port 53 and reads
 * /etc/resolv.conf. Each getent runs in a private mount namespace (unshare -m) where a temporary
 * resolv.conf, naming roje or unbound on a loopback address at port 53, and an nsswitch.conf of
 * `hosts: dns` (no /etc/hosts, no mDNS module) are bind-mounted over the machine's: the machine's own
 * files and upstreams are never read or used. roje and unbound forward to the same fake upstream on
 * loopback; glibc must resolve through roje exactly what it resolves through unbound, for plain
 * resolv.conf and with `options edns0`, `trust-ad` and `use-vc` (TCP), and a blocked name gives the
 * block page address. Needs root (port 53, mount namespaces), unshare, getent and unbound: skipped,
 * with the reason, when one is missing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type Roje, sleep, startRoje, udpUrl } from '../helpers/roje.js';

const UNBOUND = '/usr/sbin/unbound';
const GETENT_TIMEOUT_MS = 10_000;

function missing(): string | null {
  if (process.platform !== 'linux') return 'glibc stub tests need Linux';
  if (process.getuid?.() !== 0) return 'glibc stub tests need root (port 53 and a private mount namespace)';
  for (const tool of ['/usr/bin/unshare', '/usr/bin/getent', UNBOUND]) {
    if (!existsSync(tool)) return `${tool} is missing`;
  }
  return null;
}

const skip = missing();
if (skip !== null) {
  t.comment(`skipped: ${skip}`);
  t.pass(`skipped: ${skip}`);
} else {
  await run();
}

/** A random loopback address in 127.53.0.0/16 for a port-53 listener; never relies on one staying free. */
function loopbackAddress(): string {
  return `127.53.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
}

/** Tries a few random addresses: another process may hold port 53 on one of them. */
async function onPort53<T>(start: (address: string) => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      return await start(loopbackAddress());
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

interface Unbound {
  address: string;
  stop(): Promise<void>;
}

/** unbound on `address`:53, forwarding everything to the fake upstream, `test.` served (not its default zone). */
async function startUnbound(dir: string, address: string, upstreamPort: number): Promise<Unbound> {
  const conf = join(dir, `unbound-${address}.conf`);
  writeFileSync(
    conf,
    `server:
  interface: ${address}
  port: 53
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  qname-minimisation: no
  local-zone: "test." nodefault
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${upstreamPort}
`,
  );
  const child: ChildProcess = spawn(UNBOUND, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await gone;
  };
  // Ready when it answers; it exits at once when the address is taken.
  for (let i = 0; i < 50; i++) {
    if (exited) throw new Error(`unbound on ${address}:53 exited: ${stderr.trim()}`);
    const probe = await dig(address, 'www.example.test');
    if (probe.includes('status: NOERROR')) return { address, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`unbound on ${address}:53 did not answer: ${stderr.trim()}`);
}

function dig(address: string, name: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('dig', [`@${address}`, '-p', '53', '+tries=1', '+time=1', name], { timeout: 5000 }, (_e, out) =>
      resolve(out ?? ''),
    );
  });
}

interface Lookup {
  code: number;
  out: string;
}

/**
 * What a lookup resolved to, order aside: the exit code, the canonical name (getent prints it on the
 * first line) and the addresses. unbound rotates the records of an RRset (rrset-roundrobin), roje
 * serves them as the upstream gave them, and glibc keeps the order it got, so the order may differ.
 */
function resolved(l: Lookup): { code: number; canonical: string | null; addresses: string[] } {
  const lines = l.out.split('\n').filter((x) => x.trim() !== '');
  const canonical = lines[0]?.trim().split(/\s+/)[2] ?? null;
  const addresses = [...new Set(lines.map((x) => x.trim().split(/\s+/)[0]))].sort();
  return { code: l.code, canonical, addresses };
}

/** getent ahosts `name` in a private mount namespace whose resolv.conf and nsswitch.conf are ours. */
function getent(dir: string, server: string, options: string, name: string): Promise<Lookup> {
  const resolv = join(dir, `resolv-${server}-${options.replace(/\W+/g, '_') || 'plain'}.conf`);
  writeFileSync(
    resolv,
    `nameserver ${server}\noptions timeout:2 attempts:1${options === '' ? '' : ` ${options}`}\n`,
  );
  const nsswitch = join(dir, 'nsswitch.conf');
  writeFileSync(nsswitch, 'hosts: dns\n');
  const script =
    'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/nsswitch.conf && exec getent ahosts "$3"';
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', resolv, nsswitch, name],
      { timeout: GETENT_TIMEOUT_MS },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        if (e !== null && (typeof e.code !== 'number' || e.killed || stderr.includes('mount'))) {
          reject(new Error(`getent ${name} via ${server} failed: ${e.message} ${stderr}`));
          return;
        }
        resolve({ code: typeof e?.code === 'number' ? e.code : 0, out: stdout });
      },
    );
  });
}

async function run(): Promise<void> {
  const dir = t.testdir({});
  const fake = await startFakeUpstream({ apexes: ['example.test'] });
  t.teardown(() => fake.close());
  fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1' }, { data: '192.0.2.2' }]);
  fake.zone.set('www.example.test', 'AAAA', [{ data: '2001:db8::1' }]);
  fake.zone.set('v4only.example.test', 'A', [{ data: '192.0.2.4' }]);
  fake.zone.set('alias.example.test', 'CNAME', [{ data: 'www.example.test' }]);
  fake.zone.set('www.porn.example.test', 'A', [{ data: '192.0.2.66' }]);
  // Big enough that UDP without EDNS (512 bytes) truncates: glibc must retry over TCP.
  fake.zone.set(
    'many.example.test',
    'A',
    Array.from({ length: 40 }, (_, i) => ({ data: `198.51.100.${i + 1}` })),
  );
  writeFileSync(join(dir, 'adult.txt'), '||porn.example.test^\n');

  const roje: Roje = await onPort53((address) =>
    startRoje(
      {
        upstreams: [udpUrl(fake)],
        listen: [`${address}:53`],
        lists: [{ category: 'adult', path: join(dir, 'adult.txt'), format: 'adblock' }],
        blockPage: { ipv4: '192.0.2.80', ipv6: '2001:db8::80' },
        policies: { default: { block: 'all', blockMode: 'blockpage' } },
        // getent asks A and AAAA for each name, several variants in a row: no rate limit here.
        rateLimit: { enabled: false },
      },
      { t },
    ),
  );
  const unbound = await onPort53((address) => startUnbound(dir, address, fake.port));
  t.teardown(() => unbound.stop());

  const names = [
    'www.example.test',
    'WWW.Example.TEST',
    'v4only.example.test',
    'alias.example.test',
    'nx.example.test',
    'many.example.test',
    'localhost',
  ];
  for (const options of ['', 'edns0', 'trust-ad', 'use-vc', 'edns0 trust-ad use-vc']) {
    t.test(
      `glibc getent ahosts, resolv.conf options "${options}": same through roje as through unbound`,
      async (t) => {
        for (const name of names) {
          const viaUnbound = await getent(dir, unbound.address, options, name);
          const viaRoje = await getent(dir, roje.host, options, name);
          t.same(
            resolved(viaRoje),
            resolved(viaUnbound),
            `${name}: ${viaUnbound.out.split('\n')[0] || `exit ${viaUnbound.code}`}`,
          );
        }
        const www = await getent(dir, roje.host, options, 'www.example.test');
        t.same(
          resolved(www),
          { code: 0, canonical: 'www.example.test', addresses: ['192.0.2.1', '192.0.2.2', '2001:db8::1'] },
          'the fake upstream data, through roje',
        );
        const nx = await getent(dir, roje.host, options, 'nx.example.test');
        t.equal(nx.code, 2, 'NXDOMAIN: getent exit 2');
        const blocked = await getent(dir, roje.host, options, 'www.porn.example.test');
        t.equal(blocked.code, 0);
        t.match(
          blocked.out,
          /^192\.0\.2\.80 +STREAM www\.porn\.example\.test/m,
          'a blocked name: the block page',
        );
        t.notMatch(blocked.out, /192\.0\.2\.66/, 'never the real address');
      },
    );
  }
}
