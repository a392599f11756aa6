import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { clientKey } from '../net/client-key.js';
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
  /** A new connection that has not sent a complete message within this is closed. Default 3000. */
  firstQueryTimeoutMs?: number;
  /**
   * A connection whose next complete message has not come this long after its last message or answer
   * is closed (never while answers are pending); stray bytes do not extend it. Default 10000.
   */
  idleTimeoutMs?: number;
  /** Open connections allowed; past it a new connection is closed at once and counted. Default 1000. */
  maxConnections?: number;
  /** Open connections allowed from one client (an IPv4 address or an IPv6 /64). Default 16. */
  maxConnectionsPerClient?: number;
  /** Who may connect at all (acl.allow); anyone else is closed at accept. Default: everyone. */
  isAllowed?: (address: string) => boolean;
  /** Messages of one connection being answered at once; reading pauses past it. Default 100. */
  maxInFlightPerConnection?: number;
}

export type TcpListener = Listener;

const DEFAULT_DRAIN_MS = 2000;
const DEFAULT_FIRST_QUERY_MS = 3000;
const DEFAULT_IDLE_MS = 10_000;
const DEFAULT_MAX_CONNECTIONS = 1000;
const DEFAULT_MAX_PER_CLIENT = 16;
/** Past this share of maxConnections in use, every connection's deadlines are cut short... */
const PRESSURE_SHARE = 0.75;
/** ...until fewer than this share are in use (a gap, so that the cut is not applied on every accept). */
const RELIEF_SHARE = 0.6;
const allowAll = (): boolean => true;
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
    firstQueryTimeoutMs: options.firstQueryTimeoutMs ?? DEFAULT_FIRST_QUERY_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_MS,
    underPressure: false,
    counters,
  };
  let isAllowed = options.isAllowed ?? allowAll;
  let maxPerClient = Math.max(1, options.maxConnectionsPerClient ?? DEFAULT_MAX_PER_CLIENT);
  const connections = new Set<TcpConnection>();
  /** Open connections per client key (net/client-key.ts); a key leaves the map with its last connection. */
  const perClient = new Map<number, number>();
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
    const address = unwrap ? unwrapMapped(remote) : remote;
    // Outside the served networks, or one client holding its share already: refused before any
    // state is kept, so that neither can hold the slots the venue's other clients need.
    const key = clientKey(address);
    const held = perClient.get(key) ?? 0;
    if (!isAllowed(address) || held >= maxPerClient) {
      counters.tcpRejected++;
      socket.destroy();
      return;
    }
    perClient.set(key, held + 1);
    counters.tcpConnections++;
    const connection = new TcpConnection(socket, ctx, address);
    connections.add(connection);
    updatePressure();
    socket.on('close', () => {
      connections.delete(connection);
      const left = (perClient.get(key) ?? 1) - 1;
      if (left > 0) perClient.set(key, left);
      else perClient.delete(key);
      updatePressure();
      if (connections.size === 0 && allGone !== null) allGone();
    });
  }

  function updatePressure(): void {
    const open = connections.size;
    if (!ctx.underPressure && open > server.maxConnections * PRESSURE_SHARE) {
      ctx.underPressure = true;
      // The connections taken before the pressure hold the longer deadlines: cut those too, once.
      for (const connection of connections) connection.tighten();
    } else if (ctx.underPressure && open < server.maxConnections * RELIEF_SHARE) {
      ctx.underPressure = false;
    }
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
      ctx.firstQueryTimeoutMs = settings.firstQueryTimeoutMs ?? ctx.firstQueryTimeoutMs;
      isAllowed = settings.isAllowed ?? isAllowed;
      if (settings.maxConnectionsPerClient !== undefined) {
        maxPerClient = Math.max(1, settings.maxConnectionsPerClient);
      }
      if (settings.maxInFlightPerConnection !== undefined) {
        ctx.maxInFlight = Math.max(1, settings.maxInFlightPerConnection);
      }
      server.maxConnections = settings.maxConnections ?? server.maxConnections;
      updatePressure();
    },
    close: (): Promise<void> => {
      closed ??= drainAndClose();
      return closed;
    },
  };
}
