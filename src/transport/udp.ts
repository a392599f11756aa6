import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { keepReply } from '../dns/bytes.js';
import { HEADER_SIZE } from '../dns/constants.js';
import type { ClientInfo } from '../pipeline/types.js';
import { boundAddress, unwrapMapped } from './address.js';
import {
  type BatchedUdpSettings,
  type BatchedUdpSocket,
  batchedUdp,
  batchedUdpLoadError,
  openBatchedUdp,
} from './batched-udp.js';
import { listenError, resolveListenHost } from './listen-error.js';
import type {
  BoundAddress,
  ListenAddress,
  Listener,
  ListenerSettings,
  ListenerStats,
  Responder,
} from './types.js';
import { type UdpFlight, udpFlight } from './udp-flight.js';

export interface UdpListenerOptions {
  logger: Logger;
  /**
   * 'batched' (the default): recvmmsg/sendmmsg through the native module where it is built (Linux),
   * else dgram. 'dgram': Node's dgram always (config `udp.batchedIo: false`).
   */
  io?: 'batched' | 'dgram';
  /** SO_REUSEPORT: each worker thread binds the same address (transport/reuse-port.ts). */
  reusePort?: boolean;
  /** How long close() waits for in-flight answers before closing the socket. Default 2000. */
  drainTimeoutMs?: number;
  /** SO_RCVBUF / SO_SNDBUF wish in bytes (the kernel caps it at net.core.[rw]mem_max). Default 4 MiB. */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export type UdpListener = Listener;

const DEFAULT_DRAIN_MS = 2000;
const DEFAULT_BUFFER = 4 * 1024 * 1024;

/**
 * dgram resolves every send() destination through dns.lookup, which answers an IP literal on the next
 * tick. Replies always go to an IP literal, so answer at once: a synchronous answer is then sent in
 * the same tick it was computed, with no extra queue hop per packet.
 */
function literalLookup(
  host: string,
  // Typed as options by @types/node; Node passes the socket's family number.
  family: number | LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const ipFamily = isIP(host);
  if (ipFamily !== 0) callback(null, host, ipFamily);
  else dnsLookup(host, family as LookupOneOptions, callback);
}

/**
 * A UDP DNS listener: each datagram goes to the responder, each non-null answer back to its sender.
 * Synchronous answers (cache hits) are sent inline; asynchronous ones are tracked so close() can wait.
 */
export async function createUdpListener(
  address: ListenAddress,
  responder: Responder,
  options: UdpListenerOptions,
): Promise<UdpListener> {
  const log = options.logger.child({ module: 'transport', transport: 'udp' });
  const host = await resolveListenHost('udp', address);

  const addon = options.io === 'dgram' ? null : batchedUdp();
  // A scoped IPv6 address (fe80::1%eth0) is left to dgram, which resolves the interface name.
  if (addon !== null && !host.ip.includes('%')) {
    let socket: BatchedUdpSocket;
    try {
      const settings = batchedSettings(options, await inClusterWorker());
      socket = openBatchedUdp(addon, host, address.port, responder, settings, log);
    } catch (err) {
      throw listenError('udp', address.host, address.port, err);
    }
    log.debug({ host: socket.bound.host, port: socket.bound.port, io: 'batched' }, 'listening');
    return udpListener(socket.bound, socket.flight);
  }
  if (options.io !== 'dgram') noteDgramFallback(log);

  const socket: Socket = createSocket({
    type: host.family === 6 ? 'udp6' : 'udp4',
    ipv6Only: host.ipv6Only,
    lookup: literalLookup,
    // Unknown to older @types/node; supportsReusePort() gates it at config time.
    ...(options.reusePort === true ? ({ reusePort: true } as object) : {}),
  });
  // Only v6 sockets that accept v4 clients see mapped addresses; skip the string check elsewhere.
  const unwrap = host.family === 6 && !host.ipv6Only;

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host.ip, port: address.port }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    try {
      socket.close();
    } catch {
      // The socket never became usable; nothing to release.
    }
    throw listenError('udp', address.host, address.port, err);
  }
  setBufferSizes(socket, options, log);
  const bound = boundAddress(socket.address());

  const flight = udpFlight(log, options.drainTimeoutMs ?? DEFAULT_DRAIN_MS, closeSocket, reply);
  const counters = flight.counters;

  // Sends are fire-and-forget: without a callback dgram skips the completion round trip, and a UDP
  // send failure (client gone, buffer full) is not something we could act on anyway.
  socket.on('error', (err) => log.warn({ err }, 'udp socket error'));
  socket.on('message', onMessage);
  log.debug({ host: bound.host, port: bound.port, io: 'dgram' }, 'listening');

  // The client of the message being answered, refilled for each datagram: a synchronous answer is sent
  // before the next datagram is read (sendsAtOnce), and an async one keeps its client, this listener
  // then taking a new one.
  let client = newClient();

  function onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    counters.messages++;
    if (flight.closing || msg.length < HEADER_SIZE) {
      counters.dropped++;
      return;
    }
    const c = client;
    c.address = unwrap ? unwrapMapped(rinfo.address) : rinfo.address;
    c.port = rinfo.port;
    let out: ReturnType<Responder>;
    try {
      out = responder(msg, c);
    } catch (err) {
      flight.failed(err, c);
      return;
    }
    if (out === null) {
      counters.dropped++;
    } else if (out instanceof Uint8Array) {
      counters.responses++;
      reply(out, rinfo);
    } else {
      client = newClient();
      flight.later(out, rinfo, c);
    }
  }

  function reply(answer: Buffer, rinfo: RemoteInfo): boolean {
    socket.send(answer, rinfo.port, rinfo.address);
    // dgram hands the datagram to the kernel during send() (uv_udp_try_send) when the socket's send
    // buffer has room, and otherwise queues it, keeping `answer` until it leaves: a reply buffer the
    // chain lent must then not be written again. A queue of zero after the call means it left.
    if (socket.getSendQueueCount() !== 0) keepReply(answer);
    return true;
  }

  function closeSocket(): Promise<void> {
    return new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  return udpListener(bound, flight);
}

/** The Listener of either UDP socket: both keep their counters and in-flight answers in a UdpFlight. */
function udpListener<To>(bound: BoundAddress, flight: UdpFlight<To>): UdpListener {
  return {
    address: (): BoundAddress => ({ ...bound }),
    stats: (): ListenerStats => ({ ...flight.counters, tcpConnections: 0, tcpOpen: 0, tcpRejected: 0 }),
    configure: (settings: ListenerSettings): void => {
      if (settings.drainTimeoutMs !== undefined) flight.setDrainTimeout(settings.drainTimeoutMs);
    },
    close: (): Promise<void> => flight.close(),
  };
}

function newClient(): ClientInfo {
  return { address: '', port: 0, transport: 'udp', sendsAtOnce: true };
}

/**
 * A cluster process (workers in `processes` mode) would share dgram's socket through the primary; a
 * native socket is the process's own, so each binds the port with SO_REUSEPORT and the kernel spreads
 * the datagrams, as it does for threads.
 */
async function inClusterWorker(): Promise<boolean> {
  return (await import('node:cluster')).default.isWorker;
}

function batchedSettings(options: UdpListenerOptions, clusterWorker: boolean): BatchedUdpSettings {
  return {
    reusePort: options.reusePort === true || clusterWorker,
    recvBufferSize: options.recvBufferSize ?? DEFAULT_BUFFER,
    sendBufferSize: options.sendBufferSize ?? DEFAULT_BUFFER,
    drainTimeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_MS,
  };
}

let fallbackNoted = false;

/** Once a process: batched I/O was wanted, but the native module is not there (not Linux, not built). */
function noteDgramFallback(log: Logger): void {
  if (fallbackNoted) return;
  fallbackNoted = true;
  const err = batchedUdpLoadError();
  log.info(
    { reason: err instanceof Error ? err.message : 'not Linux' },
    'batched UDP I/O is not built here; using dgram (one system call per datagram)',
  );
}

/** Bigger buffers absorb bursts instead of dropping them; failing to get them is not fatal. */
function setBufferSizes(socket: Socket, options: UdpListenerOptions, log: Logger): void {
  const recv = options.recvBufferSize ?? DEFAULT_BUFFER;
  const send = options.sendBufferSize ?? DEFAULT_BUFFER;
  try {
    if (recv > 0) socket.setRecvBufferSize(recv);
    if (send > 0) socket.setSendBufferSize(send);
  } catch (err) {
    log.warn({ err, recv, send }, 'cannot set udp socket buffer sizes; keeping the defaults');
  }
}
