/**
 * dnsmasq as the blocklist peer: every listed name an `address=/name/` line, which without an address makes
 * dnsmasq answer NXDOMAIN for the name and all its subdomains (roje's subtree semantics). It never forwards:
 * --no-resolv, no server= line, no hosts file, and it listens on 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeLines } from '../lists/names.js';

const run = promisify(execFile);

/** Writes the address= lines of `names` and returns the file, for dnsmasqArgs. */
export async function writeDnsmasqList(dir: string, names: readonly string[]): Promise<string> {
  const file = path.join(dir, 'dnsmasq-blocklist.conf');
  await writeLines(file, names, (name) => `address=/${name}/\n`);
  return file;
}

/**
 * Foreground, loopback only, no upstreams, no system config, no DHCP, logging to stderr; `listFile` is read
 * as its only config file (it holds nothing but address= lines). cache-size 0: blocked answers come from
 * the address= table, not the cache, and an unused cache would only add memory.
 */
export function dnsmasqArgs(port: number, listFile: string): string[] {
  return [
    '--no-daemon',
    `--conf-file=${listFile}`,
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--pid-file=',
    '--user=',
    '--log-facility=-',
    '--cache-size=0',
  ];
}

export interface DnsmasqForward {
  /** The loopback upstream (`server=127.0.0.1#PORT`): names not in the list are forwarded there. */
  upstreamPort: number;
  /** --cache-size (names); dnsmasq's default is 150. */
  cacheSize: number;
}

/**
 * dnsmasqArgs as a caching forwarder: the same list, plus one loopback upstream and a cache. Still
 * --no-resolv, so /etc/resolv.conf's servers are never used; dns-forward-max stays at its default (150).
 */
export function dnsmasqForwarderArgs(port: number, listFile: string, forward: DnsmasqForward): string[] {
  return [
    ...dnsmasqArgs(port, listFile).filter((a) => !a.startsWith('--cache-size=')),
    `--server=127.0.0.1#${forward.upstreamPort}`,
    `--cache-size=${forward.cacheSize}`,
  ];
}

/** "dnsmasq 2.90", or why not: fails with the package to install when dnsmasq is missing. */
export async function dnsmasqVersion(): Promise<string> {
  try {
    const { stdout } = await run('dnsmasq', ['--version']);
    return /Dnsmasq version (\S+)/.exec(stdout)?.[0]?.replace('Dnsmasq version', 'dnsmasq') ?? 'dnsmasq';
  } catch {
    throw new Error('dnsmasq is not on PATH (Debian package: dnsmasq-base)');
  }
}
