/**
 * A bounded TCP slowloris and a legitimate client measured while it runs, for test/hostile and
 * bench/hostile. Loopback only: every socket is bound to a 127.x source and aimed at a 127.x server.
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';

export interface Target {
  host: string;
  port: number;
}

export interface SlowlorisOptions {
  /** Source addresses, used in turn (each connection binds the next). */
  sources: readonly string[];
  /** Connections to open (bounded: at most 2,000). */
  connections: number;
  /** One byte of a length-prefixed query is sent on each open connection this often. Default 4000. */
  byteEveryMs?: number;
  /** Connections opened at once (the rest wait), to stay under the server's listen backlog. Default 100. */
  concurrency?: number;
}

export interface SlowlorisResult {
  /** Connections that completed their handshake. */
  connected: number;
  /** Connections the server closed (before we stopped). */
  closedByServer: number;
  /** Connections still open when the attack was stopped. */
  openAtStop: number;
  /** Most attacker connections open at once, as the attacker saw them (closes are noticed late). */
  maxOpen: number;
  /**
   * Connections that held on for more than 2 s (including those still open at stop): a slot the server
   * kept, not one closed at accept and noticed late by a busy attacker.
   */
  heldOverTwoSeconds: number;
  /** How long after connecting the server closed them: median and slowest, in ms. */
  closeMsMedian: number;
  closeMsMax: number;
}

export interface Slowloris {
  /** Resolves once every connection has been tried. */
  opened: Promise<void>;
  stop(): SlowlorisResult;
}

const MAX_CONNECTIONS = 2000;

export function startSlowloris(target: Target, options: SlowlorisOptions): Slowloris {
  const total = Math.min(options.connections, MAX_CONNECTIONS);
  const byteEveryMs = options.byteEveryMs ?? 4000;
  const concurrency = options.concurrency ?? 100;
  const frame = framedQuery(0x4242, 'slow.bench.example');
  const open = new Set<Socket>();
  const sent = new Map<Socket, number>();
  const closeMs: number[] = [];
  let connected = 0;
  let closedByServer = 0;
  let maxOpen = 0;
  let stopped = false;

  function one(index: number): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect({
        host: target.host,
        port: target.port,
        localAddress: options.sources[index % options.sources.length],
      });
      let at = 0;
      socket.on('error', () => {});
      socket.once('connect', () => {
        at = Date.now();
        connected++;
        open.add(socket);
        maxOpen = Math.max(maxOpen, open.size);
        sent.set(socket, 1);
        socket.write(frame.subarray(0, 1));
        resolve();
      });
      socket.once('close', () => {
        if (open.delete(socket) && !stopped) {
          closedByServer++;
          closeMs.push(Date.now() - at);
        }
        sent.delete(socket);
        resolve();
      });
    });
  }

  const opened = (async () => {
    for (let i = 0; i < total && !stopped; i += concurrency) {
      const batch: Promise<void>[] = [];
      for (let k = i; k < Math.min(total, i + concurrency); k++) batch.push(one(k));
      await Promise.all(batch);
    }
  })();

  const dribble = setInterval(() => {
    for (const socket of open) {
      const n = sent.get(socket) ?? 0;
      // One byte at a time, and never the whole query: the server must cut us, not our answer.
      if (n < frame.length - 1) {
        socket.write(frame.subarray(n, n + 1));
        sent.set(socket, n + 1);
      }
    }
  }, byteEveryMs);

  return {
    opened,
    stop(): SlowlorisResult {
      stopped = true;
      clearInterval(dribble);
      const openAtStop = open.size;
      for (const socket of open) socket.destroy();
      open.clear();
      closeMs.sort((a, b) => a - b);
      return {
        connected,
        closedByServer,
        openAtStop,
        maxOpen,
        heldOverTwoSeconds: openAtStop + closeMs.filter((ms) => ms > 2000).length,
        closeMsMedian: closeMs.length === 0 ? 0 : closeMs[Math.floor(closeMs.length / 2)],
        closeMsMax: closeMs.length === 0 ? 0 : closeMs[closeMs.length - 1],
      };
    },
  };
}

export interface LegitOptions {
  /** The client's source address. */
  source: string;
  /** The name asked, and the A record a correct answer holds. */
  name: string;
  expect: string;
  /** Bounded: queries stop after this long or this many, whichever comes first. */
  durationMs: number;
  maxQueries: number;
  /** Pause between queries. Default 50. */
  intervalMs?: number;
  /** Which transports to use, in turn. Default ['tcp', 'udp']. */
  transports?: readonly ('tcp' | 'udp')[];
  /** A query not answered correctly within this counts as failed. Default 1000. */
  timeoutMs?: number;
}

export interface LegitResult {
  sent: number;
  ok: number;
  /** ok / sent, 0..1. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Per transport: [sent, ok]. */
  byTransport: Record<string, [number, number]>;
  /** The first few failures, for a test's message. */
  failures: string[];
}

/** Queries `target` as a legitimate client would, one at a time, and reports how it fared. */
export async function runLegitClient(target: Target, options: LegitOptions): Promise<LegitResult> {
  const transports = options.transports ?? ['tcp', 'udp'];
  const timeoutMs = options.timeoutMs ?? 1000;
  const latencies: number[] = [];
  const byTransport: Record<string, [number, number]> = {};
  const failures: string[] = [];
  const end = Date.now() + options.durationMs;
  let sent = 0;
  let ok = 0;
  while (Date.now() < end && sent < options.maxQueries) {
    const transport = transports[sent % transports.length];
    const id = (sent * 7919 + 1) & 0xffff;
    const started = performance.now();
    sent++;
    byTransport[transport] ??= [0, 0];
    const counts = byTransport[transport];
    counts[0]++;
    const outcome = await ask(target, options.source, transport, id, options.name, timeoutMs);
    const ms = performance.now() - started;
    const good = outcome !== null && isCorrect(outcome, id, options.expect);
    if (good) {
      ok++;
      counts[1]++;
      latencies.push(ms);
    } else if (failures.length < 5) {
      failures.push(
        `${transport} #${sent}: ${outcome === null ? `no answer in ${timeoutMs} ms` : 'wrong answer'}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    sent,
    ok,
    rate: sent === 0 ? 0 : ok / sent,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    maxMs: latencies.at(-1) ?? 0,
    byTransport,
    failures,
  };
}

function isCorrect(raw: Buffer, id: number, expect: string): boolean {
  try {
    const msg = dnsPacket.decode(raw);
    return (
      msg.id === id &&
      (msg as { rcode?: string }).rcode === 'NOERROR' &&
      (msg.answers ?? []).some((a) => a.type === 'A' && a.data === expect)
    );
  } catch {
    return false;
  }
}

/** One query over a fresh UDP socket or TCP connection from `source`; the raw answer or null. */
function ask(
  target: Target,
  source: string,
  transport: 'tcp' | 'udp',
  id: number,
  name: string,
  timeoutMs: number,
): Promise<Buffer | null> {
  const frame = framedQuery(id, name);
  return new Promise((resolve) => {
    let cleanup = () => {};
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(raw: Buffer | null): void {
      clearTimeout(timer);
      cleanup();
      resolve(raw);
    }
    if (transport === 'udp') {
      const socket = createSocket('udp4');
      cleanup = () => socket.close();
      socket.on('error', () => finish(null));
      socket.on('message', (raw) => {
        if (raw.length >= 2 && raw.readUInt16BE(0) === id) finish(raw);
      });
      socket.bind(0, source, () => socket.send(frame.subarray(2), target.port, target.host));
      return;
    }
    const socket = connect({ host: target.host, port: target.port, localAddress: source, noDelay: true });
    cleanup = () => socket.destroy();
    let buf = Buffer.alloc(0);
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    socket.write(frame);
  });
}

/** A query for `name` (type A, EDNS 1232), framed for TCP. */
export function framedQuery(id: number, name = 'example.com'): Buffer {
  const msg = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
  });
  const out = Buffer.alloc(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}
