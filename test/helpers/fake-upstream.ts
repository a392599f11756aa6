/**
 * A real DNS server on loopback for tests: UDP and TCP on one ephemeral port, optionally DNS over TLS
 * and DNS over HTTPS with a throwaway self-signed certificate. It answers like a recursive resolver
 * from a programmable zone, and can misbehave on demand (silence, delays, SERVFAIL, REFUSED, wrong
 * IDs, wrong questions, garbage). A test tool: it uses dns-packet freely and favours clarity.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import * as dnsPacket from 'dns-packet';
import { type TestCert, testCert } from './certs.js';

export type FakeTransport = 'udp' | 'tcp' | 'tls' | 'doh';

/** How the server misbehaves for a name (or for every name, under '*'). */
export interface Behaviour {
  /** Never answer. */
  silent?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
  servfail?: boolean;
  refused?: boolean;
  /** Answer with a wrong ID: 'first' then the right answer, 'only' never the right one. */
  wrongId?: 'first' | 'only';
  /** Answer a different question (name changed): 'first' then the right answer, or 'only'. */
  wrongQuestion?: 'first' | 'only';
  /** Answer with our ID followed by junk bytes. */
  garbage?: boolean;
  /** Over UDP, answer with TC set whatever the size. */
  truncate?: boolean;
  /** Over a stream (tcp/tls), close the connection instead of answering. */
  closeConnection?: boolean;
  /** DoH only: reply with this HTTP status (and no DNS body) instead. */
  httpStatus?: number;
  /** DoH only: reply with this content-type. */
  contentType?: string;
}

export interface FakeRecord {
  /** As dns-packet wants it: '192.0.2.1' for A, 'target.example.test' for CNAME, a string for TXT... */
  data: unknown;
  ttl?: number;
}

export interface FakeZone {
  /** Replaces the RRset of `type` at `name`; an empty list deletes it. */
  set(name: string, type: dnsPacket.RecordType, records: FakeRecord[]): void;
  delete(name: string, type?: dnsPacket.RecordType): void;
  clear(): void;
  /**
   * Names at or under an apex that have no data get NXDOMAIN (or NODATA if the name exists) with the
   * apex SOA in authority. Names outside every apex get NXDOMAIN with no authority.
   */
  addApex(apex: string, soa?: { ttl?: number; minimum?: number }): void;
}

export interface FakeQuery extends dnsPacket.DecodedPacket {
  transport: FakeTransport;
}

export interface FakeUpstream {
  host: string;
  /** UDP and TCP. */
  port: number;
  /** DNS over TLS port, with `tls: true`. */
  tlsPort?: number;
  /** e.g. https://127.0.0.1:PORT/dns-query, with `doh: true`. */
  dohUrl?: string;
  /** The certificate (trust `cert.cert` as ca; name `cert.servername`), with tls or doh. */
  cert?: TestCert;
  zone: FakeZone;
  /** Sets (or with null clears) the misbehaviour for a lowercase name, or '*' for all names. */
  behave(name: string, behaviour: Behaviour | null): void;
  /** Queries received per transport (every message, answered or not). */
  readonly counts: Record<FakeTransport | 'total', number>;
  /** Queries received for a name (lowercase, no trailing dot), all transports. */
  queriesFor(name: string): number;
  /** The last query decoded, with the transport it came by. */
  readonly lastQuery: FakeQuery | null;
  /** Resets counters and lastQuery (not the zone or behaviours). */
  resetCounts(): void;
  /** TCP/TLS connections accepted so far, and open now. */
  connections(): { accepted: number; open: number };
  /** Destroys open TCP/TLS connections, as a server closing idle ones would. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  tls?: boolean;
  doh?: boolean;
  host?: '127.0.0.1' | '::1';
  /** Default ['example.test']. */
  apexes?: string[];
}

const SERVER_UDP_SIZE = 1232;

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const host = options.host ?? '127.0.0.1';
  const zoneData = new Map<string, Map<string, dnsPacket.Answer[]>>();
  const apexes = new Map<string, dnsPacket.Answer>();
  const behaviours = new Map<string, Behaviour>();
  const perName = new Map<string, number>();
  const counts: Record<FakeTransport | 'total', number> = { udp: 0, tcp: 0, tls: 0, doh: 0, total: 0 };
  let lastQuery: FakeQuery | null = null;
  const streams = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const zone: FakeZone = {
    set(name, type, records) {
      const n = norm(name);
      if (records.length === 0) {
        zone.delete(n, type);
        return;
      }
      let rrsets = zoneData.get(n);
      if (rrsets === undefined) {
        rrsets = new Map();
        zoneData.set(n, rrsets);
      }
      rrsets.set(
        type,
        records.map(
          (r) => ({ name: n, type, class: 'IN', ttl: r.ttl ?? 300, data: r.data }) as dnsPacket.Answer,
        ),
      );
    },
    delete(name, type) {
      const n = norm(name);
      if (type === undefined) zoneData.delete(n);
      else {
        zoneData.get(n)?.delete(type);
        if (zoneData.get(n)?.size === 0) zoneData.delete(n);
      }
    },
    clear() {
      zoneData.clear();
    },
    addApex(apex, soa = {}) {
      const a = norm(apex);
      apexes.set(a, {
        name: a,
        type: 'SOA',
        class: 'IN',
        ttl: soa.ttl ?? 300,
        data: {
          mname: `ns.${a}`,
          rname: `hostmaster.${a}`,
          serial: 1,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: soa.minimum ?? 60,
        },
      });
    },
  };
  for (const apex of options.apexes ?? ['example.test']) zone.addApex(apex);

  function apexOf(name: string): dnsPacket.Answer | undefined {
    for (const [apex, soa] of apexes) if (name === apex || name.endsWith(`.${apex}`)) return soa;
    return undefined;
  }

  function nameExists(name: string): boolean {
    if (zoneData.has(name) || apexes.has(name)) return true;
    for (const n of zoneData.keys()) if (n.endsWith(`.${name}`)) return true; // empty non-terminal
    return false;
  }

  /** Answers like a recursive resolver: follows in-zone CNAMEs, negative answers carry the SOA. */
  function lookup(
    qname: string,
    qtype: string,
  ): { rcode: number; answers: dnsPacket.Answer[]; authorities: dnsPacket.Answer[] } {
    const answers: dnsPacket.Answer[] = [];
    let name = qname;
    for (let hops = 0; hops < 10; hops++) {
      const rrsets = zoneData.get(name);
      const direct =
        rrsets?.get(qtype) ?? (qtype === 'SOA' && apexes.has(name) ? [apexes.get(name)!] : undefined);
      if (direct !== undefined) {
        answers.push(...direct);
        return { rcode: 0, answers, authorities: [] };
      }
      const cname = qtype === 'CNAME' ? undefined : rrsets?.get('CNAME');
      if (cname !== undefined) {
        answers.push(...cname);
        name = norm(String((cname[0] as dnsPacket.StringAnswer).data));
        continue;
      }
      const soa = apexOf(name);
      const exists = nameExists(name);
      return { rcode: exists ? 0 : 3, answers, authorities: soa !== undefined ? [soa] : [] };
    }
    return { rcode: 2, answers: [], authorities: [] }; // CNAME loop
  }

  function behaviourFor(name: string): Behaviour {
    return behaviours.get(name) ?? behaviours.get('*') ?? {};
  }

  /**
   * Handles one query message. `send` may be called several times (wrong answer first), or never.
   * `maxSize` is null for streams.
   */
  function handle(
    msg: Buffer,
    transport: FakeTransport,
    send: (response: Buffer) => void,
    extra: {
      closeStream?: () => void;
      http?: (status: number, contentType: string, body: Buffer) => void;
    } = {},
  ): void {
    counts[transport]++;
    counts.total++;
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (question === undefined) return;
    const qname = norm(question.name);
    perName.set(qname, (perName.get(qname) ?? 0) + 1);
    lastQuery = Object.assign(q, { transport });
    const b = behaviourFor(qname);
    if (b.silent) return;
    const respond = () => {
      if (closed) return;
      if (b.closeConnection && extra.closeStream) {
        extra.closeStream();
        return;
      }
      if (b.httpStatus !== undefined && extra.http) {
        extra.http(b.httpStatus, 'text/plain', Buffer.from('no'));
        return;
      }
      const id = q.id ?? 0;
      if (b.garbage) {
        const junk = randomBytes(20);
        junk.writeUInt16BE(id, 0);
        junk.writeUInt16BE(0xffff, 2);
        send(junk);
        return;
      }
      const opt = q.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
      const found =
        b.servfail || b.refused
          ? { rcode: b.servfail ? 2 : 5, answers: [], authorities: [] }
          : lookup(qname, question.type);
      const flags =
        dnsPacket.RECURSION_AVAILABLE |
        (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) |
        (q.flag_cd ? dnsPacket.CHECKING_DISABLED : 0) |
        found.rcode;
      const additionals: dnsPacket.Answer[] = opt
        ? [
            {
              name: '.',
              type: 'OPT',
              udpPayloadSize: SERVER_UDP_SIZE,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: opt.flags & dnsPacket.DNSSEC_OK,
              flag_do: false,
              options: [],
            },
          ]
        : [];
      const packet: dnsPacket.Packet = {
        type: 'response',
        id,
        flags,
        questions: [question],
        answers: found.answers,
        authorities: found.authorities,
        additionals,
      };
      let response = dnsPacket.encode(packet);
      if (transport === 'udp') {
        const limit = opt ? Math.max(512, opt.udpPayloadSize) : 512;
        if (b.truncate || response.length > limit) {
          response = dnsPacket.encode({
            ...packet,
            flags: flags | dnsPacket.TRUNCATED_RESPONSE,
            answers: [],
            authorities: [],
          });
        }
      }
      if (b.wrongId) {
        const wrong = Buffer.from(response);
        wrong.writeUInt16BE((id ^ 0x5a5a) & 0xffff, 0);
        send(wrong);
        if (b.wrongId === 'only') return;
      }
      if (b.wrongQuestion) {
        send(dnsPacket.encode({ ...packet, questions: [{ ...question, name: `wrong.${question.name}` }] }));
        if (b.wrongQuestion === 'only') return;
      }
      if (extra.http) extra.http(200, b.contentType ?? 'application/dns-message', response);
      else send(response);
    };
    if (b.delayMs !== undefined && b.delayMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        respond();
      }, b.delayMs);
      timers.add(timer);
    } else {
      respond();
    }
  }

  let accepted = 0;
  function onStream(socket: Socket, transport: 'tcp' | 'tls'): void {
    accepted++;
    streams.add(socket);
    socket.on('close', () => streams.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        handle(
          msg,
          transport,
          (response) => {
            if (socket.destroyed) return;
            const frame = Buffer.allocUnsafe(2 + response.length);
            frame.writeUInt16BE(response.length, 0);
            response.copy(frame, 2);
            socket.write(frame);
          },
          { closeStream: () => socket.destroy() },
        );
      }
    });
  }

  // UDP first on an ephemeral port, then TCP on the same number; retry if TCP finds it taken.
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  for (let attempt = 0; attempt < 20 && tcp === undefined; attempt++) {
    const u = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind(0, host, () => resolve());
    });
    const port = u.address().port;
    const t = createTcpServer((s) => onStream(s, 'tcp'));
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false));
      t.listen(port, host, () => resolve(true));
    });
    if (ok) {
      udp = u;
      tcp = t;
    } else {
      u.close();
      t.close();
    }
  }
  if (udp === undefined || tcp === undefined) throw new Error('fake upstream: no free port for UDP+TCP');
  const udpSocket = udp;
  udpSocket.on('message', (msg, rinfo) => {
    handle(msg, 'udp', (response) => {
      if (!closed) udpSocket.send(response, rinfo.port, rinfo.address);
    });
  });
  const port = udpSocket.address().port;

  const cert = options.tls || options.doh ? testCert() : undefined;
  let tlsServer: Server | undefined;
  let tlsPort: number | undefined;
  if (options.tls && cert) {
    const s = createTlsServer({ key: cert.key, cert: cert.cert }, (socket) => onStream(socket, 'tls'));
    s.on('tlsClientError', () => {});
    tlsPort = await listen(s, host);
    tlsServer = s;
  }
  let httpsServer: HttpsServer | undefined;
  let dohUrl: string | undefined;
  if (options.doh && cert) {
    const s = createHttpsServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      if (req.method !== 'POST' || !req.url?.startsWith('/dns-query')) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (status: number, contentType: string, body: Buffer) => {
          if (res.writableEnded || closed) return;
          res.writeHead(status, { 'content-type': contentType, 'content-length': body.length });
          res.end(body);
        };
        handle(Buffer.concat(chunks), 'doh', (response) => reply(200, 'application/dns-message', response), {
          http: reply,
        });
      });
    });
    s.on('tlsClientError', () => {});
    const p = await listen(s, host);
    httpsServer = s;
    dohUrl = `https://${host.includes(':') ? `[${host}]` : host}:${p}/dns-query`;
  }

  return {
    host,
    port,
    tlsPort,
    dohUrl,
    cert,
    zone,
    behave(name, behaviour) {
      const n = name === '*' ? '*' : norm(name);
      if (behaviour === null) behaviours.delete(n);
      else behaviours.set(n, behaviour);
    },
    counts,
    queriesFor: (name) => perName.get(norm(name)) ?? 0,
    get lastQuery() {
      return lastQuery;
    },
    resetCounts() {
      for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] = 0;
      perName.clear();
      lastQuery = null;
    },
    connections: () => ({ accepted, open: streams.size }),
    dropConnections() {
      for (const s of streams) s.destroy();
      httpsServer?.closeAllConnections();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of streams) s.destroy();
      udpSocket.close();
      const closing: Array<Promise<void>> = [closeServer(tcp)];
      if (tlsServer) closing.push(closeServer(tlsServer));
      if (httpsServer) {
        httpsServer.closeAllConnections();
        closing.push(closeServer(httpsServer));
      }
      await Promise.all(closing);
    },
  };
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface QueryOptions {
  transport?: 'udp' | 'tcp';
  do?: boolean;
  cd?: boolean;
  id?: number;
  /** Advertised EDNS UDP size. Default 1232. */
  udpSize?: number;
  /** Send an OPT record. Default true. */
  edns?: boolean;
  /** Default 2000 ms. */
  timeoutMs?: number;
  /** Send from this local address (a venue's client: 127.0.0.2, ...). */
  source?: string;
}

/** A tiny DNS client for tests: one query over UDP or TCP, rejects after a timeout. */
export function query(
  server: { host: string; port: number },
  name: string,
  type: dnsPacket.RecordType,
  opts: QueryOptions = {},
): Promise<{ raw: Buffer; decoded: dnsPacket.DecodedPacket }> {
  const id = opts.id ?? Math.floor(Math.random() * 65536);
  const msg = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type, class: 'IN' }],
    additionals:
      opts.edns === false
        ? []
        : [
            {
              name: '.',
              type: 'OPT',
              udpPayloadSize: opts.udpSize ?? 1232,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: opts.do ? dnsPacket.DNSSEC_OK : 0,
              flag_do: false,
              options: [],
            },
          ],
  });
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    let cleanup = () => {};
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`query ${name} ${type}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (raw: Buffer) => {
      clearTimeout(timer);
      cleanup();
      try {
        resolve({ raw, decoded: dnsPacket.decode(raw) });
      } catch (err) {
        reject(err);
      }
    };
    if ((opts.transport ?? 'udp') === 'udp') {
      const socket = createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
      cleanup = () => socket.close();
      socket.on('error', () => {});
      socket.on('message', (raw) => {
        if (raw.length >= 2 && raw.readUInt16BE(0) === id) done(raw);
      });
      if (opts.source === undefined) socket.send(msg, server.port, server.host);
      else socket.bind(0, opts.source, () => socket.send(msg, server.port, server.host));
    } else {
      const socket = netConnect({
        host: server.host,
        port: server.port,
        ...(opts.source === undefined ? {} : { localAddress: opts.source }),
      });
      cleanup = () => socket.destroy();
      socket.on('error', () => {});
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
          done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      const frame = Buffer.allocUnsafe(2 + msg.length);
      frame.writeUInt16BE(msg.length, 0);
      msg.copy(frame, 2);
      socket.write(frame);
    }
  });
}

/** A presentation name as lowercase wire-format labels, for UpstreamRequest.nameWire. */
export function toNameWire(name: string): Buffer {
  const labels = norm(name) === '' ? [] : norm(name).split('.');
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}
