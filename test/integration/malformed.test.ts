/**
 * Malformed messages sent from code, over UDP and TCP: the server drops what it cannot answer,
 * answers FORMERR/NOTIMP with the client's ID where it can, never crashes, and keeps serving.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { answerData, rcodeName, sleep, startRoje, udpUrl, waitFor } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });

/** How long "no answer" is waited for. Short: a real answer comes back in well under a millisecond. */
const SILENCE_MS = 300;

/** Sends one datagram; resolves with the first reply, or null if none came within `waitMs`. */
async function sendUdp(msg: Buffer, waitMs = 2000): Promise<Buffer | null> {
  const socket = createSocket('udp4');
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
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

function header(id: number, flags: number, counts: [number, number, number, number]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  for (let i = 0; i < 4; i++) h.writeUInt16BE(counts[i], 4 + 2 * i);
  return h;
}

function nameWire(name: string): Buffer {
  return Buffer.concat([
    ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/** A well-formed query for www.example.test A with `flags`. */
function queryWith(id: number, flags: number): Buffer {
  return Buffer.concat([
    header(id, flags, [1, 0, 0, 0]),
    nameWire('www.example.test'),
    Buffer.from([0, 1, 0, 1]),
  ]);
}

const RD = 0x0100;

function rcodeOf(reply: Buffer): number {
  return reply.readUInt16BE(2) & 0x000f;
}

function opcodeOf(reply: Buffer): number {
  return (reply.readUInt16BE(2) >> 11) & 0x0f;
}

async function stillServes(t: Test): Promise<void> {
  const udp = await roje.query('www.example.test', 'A');
  t.equal(rcodeName(udp.decoded), 'NOERROR', 'still answers over UDP');
  t.same(answerData(udp.decoded), ['192.0.2.1']);
  const tcp = await roje.query('www.example.test', 'A', { transport: 'tcp' });
  t.equal(rcodeName(tcp.decoded), 'NOERROR', 'still answers over TCP');
}

t.test('UDP: shorter than a header -> no reply', async (t) => {
  for (const size of [0, 1, 2, 11]) {
    const reply = await sendUdp(Buffer.alloc(size, 0x41), SILENCE_MS);
    t.equal(reply, null, `${size} bytes: dropped`);
  }
  await stillServes(t);
});

t.test('UDP: a response (QR=1) sent to the server is dropped', async (t) => {
  const response = dnsPacket.encode({
    type: 'response',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
    answers: [{ name: 'www.example.test', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.66' }],
  });
  const before = fake.counts.total;
  t.equal(await sendUdp(response, SILENCE_MS), null, 'no reply to a response (no reflection loops)');
  t.equal(fake.counts.total, before, 'nothing forwarded');
  await stillServes(t);
});

t.test('UDP: QDCOUNT 2 -> FORMERR with the same ID', async (t) => {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [
      { name: 'www.example.test', type: 'A', class: 'IN' },
      { name: 'other.example.test', type: 'A', class: 'IN' },
    ],
  });
  const reply = await sendUdp(msg);
  t.ok(reply, 'answered');
  t.equal(reply!.readUInt16BE(0), 0x1234, 'same ID');
  t.equal(rcodeOf(reply!), 1, 'FORMERR');
  t.ok((reply!.readUInt16BE(2) & 0x8000) !== 0, 'QR set');
  t.equal(reply!.readUInt16BE(4), 0, 'no question echoed: it could not be read as one');
  await stillServes(t);
});

t.test('UDP: QDCOUNT 0 -> FORMERR', async (t) => {
  const reply = await sendUdp(header(0x0bad, RD, [0, 0, 0, 0]));
  t.equal(reply?.readUInt16BE(0), 0x0bad);
  t.equal(rcodeOf(reply!), 1);
});

t.test('UDP: truncated question -> FORMERR with the same ID', async (t) => {
  const full = queryWith(0x2222, RD);
  // Cut inside the name, then just before QTYPE/QCLASS end.
  for (const [cut, why] of [
    [16, 'inside the name'],
    [full.length - 2, 'inside QTYPE/QCLASS'],
  ] as const) {
    const reply = await sendUdp(full.subarray(0, cut));
    t.ok(reply, `${why}: answered`);
    t.equal(reply!.readUInt16BE(0), 0x2222, `${why}: same ID`);
    t.equal(rcodeOf(reply!), 1, `${why}: FORMERR`);
  }
  await stillServes(t);
});

t.test('UDP: label overflow -> FORMERR', async (t) => {
  // A label that announces 63 bytes where 5 follow.
  const overrun = Buffer.concat([header(0x3333, RD, [1, 0, 0, 0]), Buffer.from([63]), Buffer.from('short')]);
  // A label length of 64 (0x40): neither a label (<= 63) nor a pointer (0xC0).
  const badType = Buffer.concat([
    header(0x3334, RD, [1, 0, 0, 0]),
    Buffer.from([0x40]),
    Buffer.alloc(64, 0x61),
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  // A name of 5 x 63-byte labels: 321 octets, over the 255 limit.
  const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
  const tooLong = Buffer.concat([
    header(0x3335, RD, [1, 0, 0, 0]),
    label,
    label,
    label,
    label,
    label,
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  // A compression pointer in the question.
  const pointer = Buffer.concat([header(0x3336, RD, [1, 0, 0, 0]), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  for (const [msg, id, why] of [
    [overrun, 0x3333, 'label runs past the end'],
    [badType, 0x3334, 'label length 64'],
    [tooLong, 0x3335, 'name over 255 octets'],
    [pointer, 0x3336, 'compressed question'],
  ] as const) {
    const reply = await sendUdp(msg);
    t.ok(reply, `${why}: answered`);
    t.equal(reply!.readUInt16BE(0), id, `${why}: same ID`);
    t.equal(rcodeOf(reply!), 1, `${why}: FORMERR`);
  }
  await stillServes(t);
});

t.test('UDP: opcodes other than QUERY -> NOTIMP', async (t) => {
  for (const [opcode, name] of [
    [2, 'STATUS'],
    [4, 'NOTIFY'],
    [5, 'UPDATE'],
  ] as const) {
    const id = 0x4000 + opcode;
    const before = fake.counts.total;
    const reply = await sendUdp(queryWith(id, (opcode << 11) | RD));
    t.ok(reply, `${name}: answered`);
    t.equal(reply!.readUInt16BE(0), id, `${name}: same ID`);
    t.equal(rcodeOf(reply!), 4, `${name}: NOTIMP`);
    t.equal(opcodeOf(reply!), opcode, `${name}: opcode echoed`);
    t.equal(fake.counts.total, before, `${name}: nothing forwarded`);
  }
  await stillServes(t);
});

t.test('UDP: trailing garbage after the question -> FORMERR', async (t) => {
  const reply = await sendUdp(Buffer.concat([queryWith(0x5555, RD), Buffer.from('junk')]));
  t.equal(reply?.readUInt16BE(0), 0x5555);
  t.equal(rcodeOf(reply!), 1);
});

t.test('UDP: EDNS version 1 -> BADVERS in the OPT record', async (t) => {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 0x6666,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
    additionals: [
      {
        name: '.',
        type: 'OPT',
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 1,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
  const reply = await sendUdp(msg);
  t.ok(reply);
  const decoded = dnsPacket.decode(reply!);
  t.equal(decoded.id, 0x6666);
  const opt = decoded.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  t.ok(opt, 'OPT present');
  // BADVERS = 16: header RCODE 0, extended RCODE 1.
  t.equal(rcodeOf(reply!), 0);
  t.equal(opt?.extendedRcode, 1);
});

t.test('UDP: random garbage never crashes the server', async (t) => {
  // A fixed pseudo-random sequence, so a failure can be replayed.
  let seed = 0x2f6b;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed >> 16;
  };
  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  for (let i = 0; i < 200; i++) {
    const msg = Buffer.alloc(12 + (next() % 80));
    for (let j = 0; j < msg.length; j++) msg[j] = next() & 0xff;
    msg[2] &= 0x7f; // a query, so that it is parsed rather than dropped outright
    socket.send(msg, roje.port, roje.host);
  }
  await sleep(100);
  await stillServes(t);
});

/** Opens a raw TCP connection, writes `bytes`, and reports what came back and whether it closed. */
async function rawTcp(bytes: Buffer[], opts: { end?: boolean; waitMs?: number } = {}) {
  const socket = connect({ host: roje.host, port: roje.port });
  let received = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (c: Buffer) => {
    received = Buffer.concat([received, c]);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  for (const b of bytes) socket.write(b);
  if (opts.end) socket.end();
  const waitMs = opts.waitMs ?? SILENCE_MS;
  try {
    await waitFor(() => closed, 'close', waitMs);
  } catch {
    // still open: the caller decides whether that is right
  }
  const state = { received, closed };
  socket.destroy();
  return state;
}

function frame(msg: Buffer, length = msg.length): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(length, 0);
  msg.copy(out, 2);
  return out;
}

t.test('TCP: a frame shorter than a header closes the connection', async (t) => {
  const r = await rawTcp([Buffer.from([0, 5, 1, 2, 3, 4, 5])], { waitMs: 2000 });
  t.equal(r.closed, true, 'closed by the server');
  t.equal(r.received.length, 0, 'nothing answered');
  await stillServes(t);
});

t.test('TCP: a length prefix that promises more than is sent, then half-close', async (t) => {
  const query = queryWith(0x7777, RD);
  const r = await rawTcp([frame(query, query.length + 100)], { end: true, waitMs: 2000 });
  t.equal(r.closed, true, 'the server ends the connection after the client half-closes');
  t.equal(r.received.length, 0, 'an incomplete message is not answered');
  await stillServes(t);
});

t.test('TCP: a length prefix that promises more, left hanging, does not block other clients', async (t) => {
  const query = queryWith(0x7778, RD);
  const hanging = connect({ host: roje.host, port: roje.port });
  hanging.on('error', () => {});
  t.teardown(() => hanging.destroy());
  await new Promise<void>((resolve) => hanging.once('connect', () => resolve()));
  hanging.write(frame(query, 4000));
  await stillServes(t);
});

t.test('TCP: framed garbage and malformed queries get FORMERR, the connection survives', async (t) => {
  const garbage = Buffer.from('this is not a DNS message at all');
  // A query header with opcode QUERY; the rest (counts, question) is text.
  garbage[2] = 0x01;
  garbage[3] = 0x00;
  const good = queryWith(0x8888, RD);
  const r = await rawTcp([frame(garbage), frame(queryWith(0x9999, (4 << 11) | RD)), frame(good)], {
    waitMs: 1000,
  });
  const answers: Buffer[] = [];
  let rest = r.received;
  while (rest.length >= 2 && rest.length >= 2 + rest.readUInt16BE(0)) {
    answers.push(rest.subarray(2, 2 + rest.readUInt16BE(0)));
    rest = rest.subarray(2 + rest.readUInt16BE(0));
  }
  t.equal(answers.length, 3, 'three answers on one connection');
  const byId = new Map(answers.map((a) => [a.readUInt16BE(0), a]));
  t.equal(rcodeOf(byId.get(garbage.readUInt16BE(0))!), 1, 'garbage: FORMERR');
  t.equal(rcodeOf(byId.get(0x9999)!), 4, 'NOTIFY: NOTIMP');
  t.equal(rcodeOf(byId.get(0x8888)!), 0, 'the good query: NOERROR');
  t.equal(r.closed, false, 'the connection stayed open');
  await stillServes(t);
});

t.test('TCP: a response sent to the server is dropped, later queries still answered', async (t) => {
  const response = Buffer.from(queryWith(0xaaaa, RD));
  response[2] |= 0x80;
  const r = await rawTcp([frame(response), frame(queryWith(0xabab, RD))], { waitMs: 1000 });
  t.equal(r.received.length > 2, true);
  const first = r.received.subarray(2, 2 + r.received.readUInt16BE(0));
  t.equal(first.readUInt16BE(0), 0xabab, 'only the query is answered');
  t.equal(r.received.length, 2 + first.length, 'one answer in all');
});
