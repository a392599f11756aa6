/**
 * Error answers as a recursive resolver must give them, through the real server:
 * - RFC 6891 §7 and §6.1.1: a FORMERR to a query that had an OPT record carries roje's OPT: QDCOUNT 0
 *   or 2, two OPT records, an OPT in the answer section, an OPT not owned by the root;
 * - RFC 6895 §3.1: meta-types (OPT, TSIG, TKEY, MAILA, MAILB, 128-248) get FORMERR and zone transfers
 *   (AXFR, IXFR) REFUSED, over UDP and TCP, as unbound answers them, and never reach the upstream;
 * - RFC 8914 §4.23: an upstream's REFUSED becomes SERVFAIL with EDE 22 "No Reachable Authority"
 *   ("... or they potentially refused to reply"), as unbound answers SERVFAIL: the client was not
 *   refused by roje, so REFUSED (or EDE 18 "Prohibited", 20 "Not Authoritative") would mislead it.
 */
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
fake.behave('refused.example.test', { refused: true });
const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });

async function sendUdp(msg: Buffer): Promise<Buffer | null> {
  const socket = createSocket('udp4');
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 2000);
      socket.on('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(msg, roje.port, roje.host);
    });
  } finally {
    socket.close();
  }
}

function u16(v: number): Buffer {
  return Buffer.from([v >> 8, v & 0xff]);
}

function header(qd: number, an: number, ar: number): Buffer {
  return Buffer.concat([u16(0x4321), u16(0x0100), u16(qd), u16(an), u16(0), u16(ar)]);
}

function nameWire(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...labels, Buffer.from([0])]);
}

function question(name: string, qtype: number): Buffer {
  return Buffer.concat([nameWire(name), u16(qtype), u16(1)]);
}

/** An OPT record: owner (root unless given), size 4096, DO as asked. */
function opt(doBit: boolean, owner: Buffer = Buffer.from([0])): Buffer {
  return Buffer.concat([owner, u16(41), u16(4096), u16(0), u16(doBit ? 0x8000 : 0), u16(0)]);
}

/** The OPT record of a reply, read by hand: [udp size, DO], or null when it has none. */
function optOf(reply: Buffer): { size: number; do: boolean } | null {
  const d = dnsPacket.decode(reply);
  const o = (d.additionals ?? []).find((a) => a.type === 'OPT') as unknown as
    | { udpPayloadSize: number; flags?: number }
    | undefined;
  return o === undefined ? null : { size: o.udpPayloadSize, do: ((o.flags ?? 0) & 0x8000) !== 0 };
}

t.test('RFC 6891 §7, §6.1.1: FORMERR carries roje OPT when the query had an OPT record', async (t) => {
  const q = question('www.example.test', 1);
  const cases: Array<[string, Buffer]> = [
    ['QDCOUNT 0', Buffer.concat([header(0, 0, 1), opt(true)])],
    ['QDCOUNT 2', Buffer.concat([header(2, 0, 1), q, question('other.example.test', 1), opt(true)])],
    ['two OPT records', Buffer.concat([header(1, 0, 2), q, opt(true), opt(false)])],
    ['OPT in the answer section', Buffer.concat([header(1, 1, 0), q, opt(true)])],
    ['OPT not owned by the root', Buffer.concat([header(1, 0, 1), q, opt(true, nameWire('x'))])],
  ];
  const before = fake.counts.total;
  for (const [why, msg] of cases) {
    const reply = await sendUdp(msg);
    t.ok(reply, `${why}: answered`);
    t.equal(reply!.readUInt16BE(0), 0x4321, `${why}: the ID`);
    t.equal(reply!.readUInt16BE(2) & 0x0f, 1, `${why}: FORMERR`);
    t.equal(reply!.readUInt16BE(10), 1, `${why}: one additional record`);
    t.same(optOf(reply!), { size: roje.config.edns.udpSize, do: true }, `${why}: roje's OPT, DO echoed`);
  }
  const plain = await sendUdp(header(0, 0, 0));
  t.equal(plain!.readUInt16BE(10), 0, 'no OPT in the query: none in the FORMERR');
  t.equal(fake.counts.total, before, 'nothing forwarded');
});

t.test(
  'RFC 6895 §3.1: meta-types FORMERR, AXFR/IXFR REFUSED, over UDP and TCP, never forwarded',
  async (t) => {
    const before = fake.counts.total;
    const meta: Array<[string, string]> = [
      ['TYPE41', 'OPT'],
      ['TYPE249', 'TKEY'],
      ['TYPE250', 'TSIG'],
      ['TYPE253', 'MAILB'],
      ['TYPE254', 'MAILA'],
      ['TYPE128', 'unassigned meta'],
      ['TYPE248', 'unassigned meta'],
    ];
    for (const [type, why] of meta) {
      for (const transport of ['+notcp', '+tcp']) {
        const r = await roje.dig(['www.example.test', type, transport]);
        t.equal(r.status, 'FORMERR', `${why} ${transport}`);
        t.ok(r.opt, `${why}: roje's OPT`);
      }
    }
    for (const type of ['AXFR', 'IXFR=1']) {
      const r = await roje.kdig(['example.test', type]);
      t.match(r.stdout + r.stderr, /REFUSED/, `${type} over TCP: REFUSED`);
    }
    // dig turns TYPE251 into a real IXFR exchange; the raw query is what a UDP client would send.
    const udpIxfr = await sendUdp(
      Buffer.concat([header(1, 0, 1), question('example.test', 251), opt(false)]),
    );
    t.equal(udpIxfr!.readUInt16BE(2) & 0x0f, 5, 'IXFR over UDP: REFUSED');
    t.equal(fake.counts.total, before, 'no meta-type or transfer reached the upstream');
    const data = await roje.dig(['www.example.test', 'TYPE127']);
    t.equal(data.status, 'NOERROR', 'a data type below 128 goes on (NODATA from the upstream)');
    t.equal(fake.counts.total, before + 1);
  },
);

t.test("RFC 8914 §4.23: an upstream's REFUSED is SERVFAIL with EDE 22, not REFUSED", async (t) => {
  const r = await roje.dig(['refused.example.test', 'A']);
  t.equal(r.status, 'SERVFAIL');
  t.same(r.ede, [{ code: 22, purpose: 'No Reachable Authority', text: 'upstreams refused the query' }]);
  t.ok(fake.queriesFor('refused.example.test') >= 1, 'it was asked upstream');
  const still = await roje.dig(['www.example.test', 'A']);
  t.equal(still.status, 'NOERROR', 'a REFUSED does not mark the upstream down');
});
