/**
 * Knot DNS (Debian `knot`, /usr/sbin/knotd) as the real authoritative server of the conformance suite:
 * on 127.0.0.1 on a port of its own, in a temporary directory holding its config, rundir, storage and
 * the zone files written from zones.ts. signed.example is signed by Knot itself; the helper waits for
 * its DNSKEY and hands back the key-signing key as the trust anchor for the reference resolver.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendUdp } from './client.js';
import { candidatePort, type Daemon, startDaemon } from './daemon.js';
import { decodeMessage, encodeQuery, TYPES } from './wire.js';
import { SIGNED_ZONE, zoneFiles } from './zones.js';

export const KNOTD = '/usr/sbin/knotd';

export interface Knot {
  host: string;
  port: number;
  /** The SOA serial of every zone of this run (signed.example's rises as Knot signs it). */
  serial: number;
  /** `signed.example. 3600 IN DNSKEY 257 3 13 <key>`: the trust anchor for signed.example. */
  trustAnchor: string;
  dir: string;
  stop(): Promise<void>;
}

function knotConfig(dir: string, port: number, zones: string[]): string {
  return `server:
  rundir: "${dir}/run"
  listen: 127.0.0.1@${port}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "${dir}/db"
log:
  - target: stderr
    any: warning
policy:
  - id: conf
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
${zones.map((z) => `  - domain: ${z}.${z === SIGNED_ZONE ? '\n    dnssec-signing: on\n    dnssec-policy: conf' : ''}`).join('\n')}
`;
}

/** Starts Knot; tries another port when another program took the one it was given first. */
export async function startKnot(): Promise<Knot> {
  const dir = mkdtempSync(join(tmpdir(), 'roje-conf-knot-'));
  const serial = 2026000000 + randomInt(1_000_000);
  const zones = zoneFiles(serial);
  for (const sub of ['run', 'db', 'zones']) mkdirSync(join(dir, sub));
  for (const [apex, text] of Object.entries(zones)) writeFileSync(join(dir, 'zones', `${apex}.zone`), text);
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await candidatePort();
    writeFileSync(join(dir, 'knot.conf'), knotConfig(dir, port, Object.keys(zones)));
    const daemon = startDaemon(KNOTD, ['-c', join(dir, 'knot.conf')]);
    try {
      const trustAnchor = await waitForSigned(daemon, port, serial);
      return {
        host: '127.0.0.1',
        port,
        serial,
        trustAnchor,
        dir,
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
  throw new Error(`knotd did not start: ${lastError}`);
}

/**
 * Waits until our Knot answers (the SOA serial is this run's: not another server on the port) and has
 * signed signed.example; returns its key-signing key as a trust anchor.
 */
async function waitForSigned(daemon: Daemon, port: number, serial: number): Promise<string> {
  const server = { host: '127.0.0.1', port };
  const deadline = Date.now() + 15_000;
  let id = 1;
  while (Date.now() < deadline) {
    const exited = daemon.exited();
    if (exited !== null) throw new Error(`knotd exited (${JSON.stringify(exited)}): ${daemon.output()}`);
    const soa = await sendUdp(
      server,
      encodeQuery({ id: id++, name: 'conf.example', type: TYPES.SOA, flags: {} }),
      500,
    );
    if (soa !== null) {
      const msg = decodeMessage(soa);
      if (
        !msg.answer.some(
          (r) => r.type === TYPES.SOA && r.rdata.includes(serial.toString(16).padStart(8, '0')),
        )
      )
        throw new Error(`another server answers on 127.0.0.1:${port}`);
      const keys = await sendUdp(
        server,
        encodeQuery({
          id: id++,
          name: SIGNED_ZONE,
          type: TYPES.DNSKEY,
          flags: {},
          edns: { udp: 4096, do: true },
        }),
        500,
      );
      const ksk =
        keys === null
          ? undefined
          : decodeMessage(keys).answer.find((r) => r.type === TYPES.DNSKEY && r.rdata.startsWith('0101'));
      if (ksk !== undefined) return dnskeyText(ksk.rdata);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no signed answer from knotd on 127.0.0.1:${port} within 15 s: ${daemon.output()}`);
}

/** RDATA hex (flags, protocol, algorithm, key) as a DNSKEY record in presentation form. */
function dnskeyText(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  return `${SIGNED_ZONE}. 3600 IN DNSKEY ${b.readUInt16BE(0)} ${b[2]} ${b[3]} ${b.subarray(4).toString('base64')}`;
}
