import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { keepReply } from '../dns/bytes.js';
import { HEADER_SIZE } from '../dns/constants.js';
import type { ClientInfo } from '../pipeline/types.js';
import { boundAddress, unwrapMapped } from './address.js';
import { listenError, resolveListenHost } from './listen-error.js';
import type {
  BoundAddress,
  ListenAddress,
  Listener,
  ListenerSettings,
  ListenerStats,
  Responder,
} from './types.js';

export interface UdpListenerOptions {
  logger: Logger;
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
  let drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_MS;

  const host = await resolveListenHost('udp', address);

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

  const counters = { messages: 0, responses: 0, dropped: 0, errors: 0 };
  let inFlight = 0;
  let closing = false;
  let socketClosed = false;
  let drained: (() => void) | null = null;
  let closed: Promise<void> | null = null;

  // Sends are fire-and-forget: without a callback dgram skips the completion round trip, and a UDP
  // send failure (client gone, buffer full) is not something we could act on anyway.
  socket.on('error', (err) => log.warn({ err }, 'udp socket error'));
  socket.on('message', onMessage);
  log.debug({ host: bound.host, port: bound.port }, 'listening');

  // The client of the message being answered, refilled for each datagram: a synchronous answer is sent
  // before the next datagram is read (sendsAtOnce), and an async one keeps its client, this listener
  // then taking a new one.
  let client = newClient();

  function onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    counters.messages++;
    if (closing || msg.length < HEADER_SIZE) {
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
      failed(err, c);
      return;
    }
    if (out === null) {
      counters.dropped++;
    } else if (out instanceof Uint8Array) {
      reply(out, rinfo);
    } else {
      client = newClient();
      later(out, rinfo, c);
    }
  }

  // Apart from onMessage: closures there would make V8 allocate a context for every datagram.
  function later(out: Promise<Buffer | null>, rinfo: RemoteInfo, c: ClientInfo): void {
    inFlight++;
    out.then(
      (answer) => {
        settled();
        if (answer === null) counters.dropped++;
        else reply(answer, rinfo);
      },
      (err: unknown) => {
        settled();
        failed(err, c);
      },
    );
  }

  function reply(answer: Buffer, rinfo: RemoteInfo): void {
    if (socketClosed) {
      counters.dropped++;
      return;
    }
    counters.responses++;
    socket.send(answer, rinfo.port, rinfo.address);
    // dgram hands the datagram to the kernel during send() (uv_udp_try_send) when the socket's send
    // buffer has room, and otherwise queues it, keeping `answer` until it leaves: a reply buffer the
    // chain lent must then not be written again. A queue of zero after the call means it left.
    if (socket.getSendQueueCount() !== 0) keepReply(answer);
  }

  function settled(): void {
    inFlight--;
    if (inFlight === 0 && drained !== null) drained();
  }

  function failed(err: unknown, client: ClientInfo): void {
    counters.errors++;
    counters.dropped++;
    log.error({ err, client: client.address }, 'responder failed; message dropped');
  }

  async function drainAndClose(): Promise<void> {
    closing = true;
    if (inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, drainTimeoutMs);
      });
      clearTimeout(timer);
      if (inFlight > 0) log.warn({ inFlight }, 'closing with answers still in flight');
    }
    socketClosed = true;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  return {
    address: (): BoundAddress => ({ ...bound }),
    stats: (): ListenerStats => ({ ...counters, tcpConnections: 0, tcpOpen: 0, tcpRejected: 0 }),
    configure: (settings: ListenerSettings): void => {
      drainTimeoutMs = settings.drainTimeoutMs ?? drainTimeoutMs;
    },
    close: (): Promise<void> => {
      closed ??= drainAndClose();
      return closed;
    },
  };
}

function newClient(): ClientInfo {
  return { address: '', port: 0, transport: 'udp', sendsAtOnce: true };
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
