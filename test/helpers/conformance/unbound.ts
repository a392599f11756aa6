/**
 * unbound (/usr/sbin/unbound -d) as the reference resolver of the conformance suite: its own config in
 * a temporary directory, on 127.0.0.1 on a port of its own, forwarding everything to the suite's Knot
 * and to nothing else. Otherwise unbound's defaults, its default local zones included: they are the
 * reference for special-use names (RFC 6761, 6762, 7686, 8375).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Server, sendUdp } from './client.js';
import { candidatePort, type Daemon, startDaemon } from './daemon.js';
import { decodeMessage, encodeQuery, TYPES } from './wire.js';

export const UNBOUND = '/usr/sbin/unbound';

export interface Unbound extends Server {
  stop(): Promise<void>;
}

export function unboundConfig(dir: string, port: number, knot: Server, trustAnchor: string): string {
  return `server:
  interface: 127.0.0.1
  port: ${port}
  do-ip6: no
  # Sends leave from loopback only: a query to anything but Knot would fail, never leak (network rule).
  outgoing-interface: 127.0.0.1
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  trust-anchor: "${trustAnchor}"
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: ${knot.host}@${knot.port}
`;
}

/** Starts unbound in front of `knot`; waits until it answers a zone's SOA with this run's serial. */
export async function startUnbound(knot: Server & { serial: number; trustAnchor: string }): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), 'roje-conf-unbound-'));
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await candidatePort();
    writeFileSync(join(dir, 'unbound.conf'), unboundConfig(dir, port, knot, knot.trustAnchor));
    const daemon = startDaemon(UNBOUND, ['-d', '-c', join(dir, 'unbound.conf')]);
    try {
      await waitForSerial(daemon, { host: '127.0.0.1', port }, knot.serial, 'unbound');
      return {
        host: '127.0.0.1',
        port,
        stop: async () => {
          await daemon.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = (err as Error).message;
      await daemon.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`unbound did not start: ${lastError}`);
}

/**
 * Waits until `server` answers conf.example SOA with this run's serial: the resolver is up and in
 * front of our Knot, not some other program that took the port. Rejects when `daemon` exits first.
 */
export async function waitForSerial(daemon: Daemon | null, server: Server, serial: number, what: string) {
  const deadline = Date.now() + 15_000;
  for (let id = 1; Date.now() < deadline; id++) {
    const exited = daemon?.exited() ?? null;
    if (exited !== null) throw new Error(`${what} exited (${JSON.stringify(exited)}): ${daemon?.output()}`);
    const reply = await sendUdp(
      server,
      encodeQuery({ id, name: 'conf.example', type: TYPES.SOA, flags: { rd: true } }),
      500,
    );
    if (reply !== null) {
      const soa = decodeMessage(reply).answer.find((r) => r.type === TYPES.SOA);
      if (soa?.rdata.includes(serial.toString(16).padStart(8, '0'))) return;
      throw new Error(`another server answers on ${server.host}:${server.port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} on ${server.host}:${server.port} did not answer within 15 s: ${daemon?.output()}`);
}
