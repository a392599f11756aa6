/**
 * Debian's unbound in the two roles of a load run: the upstream authority that answers every name from local
 * data, and the peer forwarder that roje is compared with. Both configs are written so that neither can ever
 * send a packet off the machine: outgoing-interface is 127.0.0.1, the root hints name only 127.0.0.1, the
 * upstream refuses to query any address at all and the forwarder forwards only to the loopback upstream.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeLines } from '../lists/names.js';

const run = promisify(execFile);

/** Every A query the upstream sees gets this address, whatever the name. */
export const UPSTREAM_ADDRESS = '192.0.2.1';
/** And every AAAA query this one, when the upstream is written with `aaaa: true`. */
export const UPSTREAM_ADDRESS_V6 = '2001:db8::1';

// Shared by both roles: one thread (unless told), no privileges, no chroot, no syslog, no DNSSEC, loopback only.
function commonServer(dir: string, name: string, port: number, threads = 1): string {
  return `server:
  interface: 127.0.0.1@${port}
  port: ${port}
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${path.join(dir, `${name}.pid`)}"
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: ${threads}
  so-reuseport: ${threads > 1 ? 'yes' : 'no'}
  access-control: 0.0.0.0/0 refuse
  access-control: 127.0.0.0/8 allow
  outgoing-interface: 127.0.0.1
  root-hints: "${path.join(dir, 'root.hints')}"
  module-config: "iterator"
  prefetch: no
  prefetch-key: no
  serve-expired: no
  minimal-responses: yes
`;
}

/** A root that is only loopback: even a priming query, should one ever be sent, stays on this machine. */
async function writeRootHints(dir: string): Promise<void> {
  await writeFile(
    path.join(dir, 'root.hints'),
    '.                 3600000 IN NS a.root.bench.invalid.\na.root.bench.invalid. 3600000 IN A 127.0.0.1\n',
  );
}

export interface UpstreamConfigOptions {
  port: number;
  /** unbound-control port, used to count the queries that reached the upstream. */
  controlPort: number;
  /** Also answer every AAAA query (with 2001:db8::1): a NODATA without SOA would not be cached downstream. */
  aaaa?: boolean;
}

/**
 * The upstream: `local-zone: "." redirect` answers every A query under the root with UPSTREAM_ADDRESS from
 * local data, which unbound serves without caching or recursion, so it stays fast for unique miss names too.
 */
export async function writeUpstreamConfig(dir: string, options: UpstreamConfigOptions): Promise<string> {
  await writeRootHints(dir);
  const file = path.join(dir, 'upstream.conf');
  await writeFile(
    file,
    `${commonServer(dir, 'upstream', options.port)}  do-not-query-address: 0.0.0.0/0
  do-not-query-address: ::/0
  local-zone: "." redirect
  local-data: ". 3600 IN A ${UPSTREAM_ADDRESS}"
${options.aaaa === true ? `  local-data: ". 3600 IN AAAA ${UPSTREAM_ADDRESS_V6}"\n` : ''}remote-control:
  control-enable: yes
  control-interface: 127.0.0.1
  control-port: ${options.controlPort}
  control-use-cert: no
`,
  );
  return file;
}

export interface ForwarderConfigOptions {
  port: number;
  upstreamPort: number;
  /** num-threads (with so-reuseport when more than 1); 1 by default. */
  threads?: number;
  /** Names answered NXDOMAIN with their subdomains (`local-zone: "name." always_nxdomain`), before forwarding. */
  blockedNames?: readonly string[];
}

/** The peer: a caching forwarder of "." to the upstream only, with cache sizes that hold a whole run. */
export async function writeForwarderConfig(dir: string, options: ForwarderConfigOptions): Promise<string> {
  await writeRootHints(dir);
  const file = path.join(dir, 'forwarder.conf');
  let include = '';
  if (options.blockedNames !== undefined) {
    const zones = path.join(dir, 'forwarder-zones.conf');
    await writeLines(zones, options.blockedNames, (name) => `  local-zone: "${name}." always_nxdomain\n`);
    include = `  include: "${zones}"\n`;
  }
  await writeFile(
    file,
    `${commonServer(dir, 'forwarder', options.port, options.threads)}${include}  do-not-query-localhost: no
  msg-cache-size: 128m
  rrset-cache-size: 256m
  num-queries-per-thread: 4096
  outgoing-range: 8192
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${options.upstreamPort}
  forward-first: no
remote-control:
  control-enable: no
`,
  );
  return file;
}

/** Fails with unbound's own message when a config does not parse, before any process is started. */
export async function checkConfig(file: string): Promise<void> {
  try {
    await run('unbound-checkconf', [file]);
  } catch (err) {
    const detail =
      (err as { stderr?: string; stdout?: string }).stderr || (err as { stdout?: string }).stdout;
    throw new Error(`unbound-checkconf rejected ${file}: ${detail ?? String(err)}`);
  }
}

/** total.num.queries of the unbound behind `configFile` (its remote-control must be enabled). */
export async function queryCount(configFile: string): Promise<number> {
  const { stdout } = await run('unbound-control', ['-c', configFile, 'stats_noreset']);
  const match = /^total\.num\.queries=(\d+)$/m.exec(stdout);
  if (match === null) throw new Error(`unbound-control stats_noreset gave no total.num.queries:\n${stdout}`);
  return Number(match[1]);
}

export interface BlocklistConfigOptions {
  port: number;
  /** Every name gets `local-zone: "name." always_nxdomain`: NXDOMAIN for it and its subdomains. */
  names: readonly string[];
}

/**
 * unbound as a blocklist server only: each listed name a local zone, and `local-zone: "." refuse` for
 * everything else, so that no query is ever recursed (the loopback root hints and do-not-query-address
 * stay as a second fence). The zones go into an include file: a million lines are too many for one string.
 */
export async function writeBlocklistConfig(dir: string, options: BlocklistConfigOptions): Promise<string> {
  await writeRootHints(dir);
  const zones = path.join(dir, 'unbound-zones.conf');
  await writeLines(zones, options.names, (name) => `  local-zone: "${name}." always_nxdomain\n`);
  const file = path.join(dir, 'unbound-blocklist.conf');
  await writeFile(
    file,
    `${commonServer(dir, 'blocklist', options.port)}  do-not-query-address: 0.0.0.0/0
  do-not-query-address: ::/0
  local-zone: "." refuse
  include: "${zones}"
remote-control:
  control-enable: no
`,
  );
  return file;
}
