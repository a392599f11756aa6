/**
 * Traffic from many venues at once, which dnsperf cannot send (one source address per run): one UDP socket
 * per venue, bound to that venue's own loopback address (127.0.1.N), each sending the same small set of
 * queries per round and waiting for every answer. Bounded: venues x names x rounds queries, each waited for
 * at most `timeoutMs`; rounds are spaced so that every flush of roje's counts carries every venue.
 */
import dgram from 'node:dgram';
import { buildProbeQuery } from '../load/processes.js';

export interface VenueTrafficOptions {
  host: string;
  port: number;
  /** Source addresses, one per venue. */
  sources: readonly string[];
  /** Names each venue asks per round. */
  names: readonly string[];
  rounds: number;
  /** Time from the start of one round to the next. */
  roundIntervalMs: number;
  timeoutMs: number;
}

export interface VenueTrafficResult {
  sent: number;
  answered: number;
}

/** Sends one round from `socket` and resolves with the number of answers that came back in time. */
function round(socket: dgram.Socket, options: VenueTrafficOptions, firstId: number): Promise<number> {
  return new Promise((resolve) => {
    const waiting = new Set<number>();
    options.names.forEach((name, i) => {
      const id = (firstId + i) & 0xffff;
      waiting.add(id);
      socket.send(buildProbeQuery(id, name), options.port, options.host);
    });
    const total = waiting.size;
    const done = (): void => {
      clearTimeout(timer);
      socket.removeListener('message', onMessage);
      resolve(total - waiting.size);
    };
    const onMessage = (msg: Buffer): void => {
      if (msg.length >= 12 && waiting.delete(msg.readUInt16BE(0)) && waiting.size === 0) done();
    };
    const timer = setTimeout(done, options.timeoutMs);
    socket.on('message', onMessage);
  });
}

export async function sendVenueTraffic(options: VenueTrafficOptions): Promise<VenueTrafficResult> {
  const sockets = await Promise.all(
    options.sources.map(
      (address) =>
        new Promise<dgram.Socket>((resolve, reject) => {
          const s = dgram.createSocket('udp4');
          s.once('error', reject);
          s.bind(0, address, () => resolve(s));
        }),
    ),
  );
  let sent = 0;
  let answered = 0;
  try {
    for (let r = 0; r < options.rounds; r++) {
      const started = Date.now();
      const counts = await Promise.all(
        sockets.map((s, i) => round(s, options, (r * sockets.length + i) * options.names.length)),
      );
      sent += sockets.length * options.names.length;
      answered += counts.reduce((a, b) => a + b, 0);
      const rest = options.roundIntervalMs - (Date.now() - started);
      if (r < options.rounds - 1 && rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  } finally {
    for (const s of sockets) s.close();
  }
  return { sent, answered };
}
