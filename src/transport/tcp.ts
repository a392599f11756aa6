import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { boundAddress, unwrapMapped } from './address.js';
import { listenError, resolveListenHost } from './listen-error.js';
import { type ConnectionContext, TcpConnection } from './tcp-connection.js';
import type {
  BoundAddress,
  ListenAddress,
  Listener,
  ListenerSettings,
  ListenerStats,
  Responder,
} from './types.js';

export interface TcpListenerOptions {
  logger: Logger;
  /** SO_REUSEPORT: each worker thread binds the same address (transport/reuse-port.ts). */
  reusePort?: boolean;
  /** How long close() waits for in-flight answers before cutting connections. Default 2000. */
  drainTimeoutMs?: number;
  /** A connection with no traffic for this long is closed (never while answers are pending). Default 10000. */
  idleTimeoutMs?: number;
  /** Open connections allowed; past it a new connection is closed at once and counted. Default 1000. */
  maxConnections?: number;
  /** Messages of one connection being answered at once; reading pauses past it. Default 100. */
  maxInFlightPerConnection?: number;
}

export type TcpListener = Listener;

const DEFAULT_DRAIN_MS = 2000;
const DEFAULT_IDLE_MS = 10_000;
const DEFAULT_MAX_CONNECTIONS = 1000;
const DEFAULT_MAX_IN_FLIGHT = 100;

/** A DNS-over-TCP listener (RFC 7766): length-prefixed messages, pipelined, answered out of order. */
export async function createTcpListener(
  address: ListenAddress,
  responder: Responder,
  options: TcpListenerOptions,
): Promise<TcpListener> {
  const log = options.logger.child({ module: 'transport', transport: 'tcp' });
  let drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_MS;

  const host = await resolveListenHost('tcp', address);

  const counters = { messages: 0, responses: 0, dropped: 0, errors: 0, tcpConnections: 0, tcpRejected: 0 };
  const ctx: ConnectionContext = {
    responder,
    log,
    maxInFlight: Math.max(1, options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT),
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_MS,
    counters,
  };
  const connections = new Set<TcpConnection>();
  const unwrap = host.family === 6 && !host.ipv6Only;
  let closing = false;
  let allGone: (() => void) | null = null;
  let closed: Promise<void> | null = null;

  // allowHalfOpen: a client that half-closes after its last query still gets its answers.
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true });
  // Node refuses connections past the limit before creating a Socket for them, the cheapest refusal.
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('drop', () => counters.tcpRejected++);
  server.on('connection', onConnection);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // reusePort is unknown to older @types/node; supportsReusePort() gates it at config time.
      const listenOptions = { host: host.ip, port: address.port, ipv6Only: host.ipv6Only };
      if (options.reusePort === true) Object.assign(listenOptions, { reusePort: true });
      server.listen(listenOptions, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    server.close();
    throw listenError('tcp', address.host, address.port, err);
  }
  server.on('error', (err) => log.error({ err }, 'tcp server error'));
  const bound = boundAddress(server.address() as { address: string; port: number; family: string });
  log.debug({ host: bound.host, port: bound.port }, 'listening');

  function onConnection(socket: Socket): void {
    const remote = socket.remoteAddress;
    if (closing || remote === undefined) {
      // Closing, or the peer already left before we saw it.
      socket.destroy();
      return;
    }
    counters.tcpConnections++;
    const connection = new TcpConnection(socket, ctx, unwrap ? unwrapMapped(remote) : remote);
    connections.add(connection);
    socket.on('close', () => {
      connections.delete(connection);
      if (connections.size === 0 && allGone !== null) allGone();
    });
  }

  async function drainAndClose(): Promise<void> {
    closing = true;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    if (connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        allGone = resolve;
        timer = setTimeout(resolve, drainTimeoutMs);
        for (const connection of connections) connection.close();
      });
      clearTimeout(timer);
      if (connections.size > 0) {
        log.warn({ connections: connections.size }, 'closing with tcp connections still open; cutting them');
        for (const connection of connections) connection.socket.destroy();
      }
    }
    await serverClosed;
  }

  return {
    address: (): BoundAddress => ({ ...bound }),
    stats: (): ListenerStats => ({ ...counters, tcpOpen: connections.size }),
    configure: (settings: ListenerSettings): void => {
      drainTimeoutMs = settings.drainTimeoutMs ?? drainTimeoutMs;
      ctx.idleTimeoutMs = settings.idleTimeoutMs ?? ctx.idleTimeoutMs;
      if (settings.maxInFlightPerConnection !== undefined) {
        ctx.maxInFlight = Math.max(1, settings.maxInFlightPerConnection);
      }
      server.maxConnections = settings.maxConnections ?? server.maxConnections;
    },
    close: (): Promise<void> => {
      closed ??= drainAndClose();
      return closed;
    },
  };
}
