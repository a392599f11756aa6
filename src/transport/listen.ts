import { createCidrMatcher } from '../net/cidr.js';
import { isAddressInUse } from './listen-error.js';
import { createTcpListener, type TcpListener, type TcpListenerOptions } from './tcp.js';
import type { BoundAddress, ListenAddress, ListenerSettings, ListenerStats, Responder } from './types.js';
import { createUdpListener, type UdpListener, type UdpListenerOptions } from './udp.js';

export type ListenOptions = UdpListenerOptions &
  TcpListenerOptions & {
    /** With port 0: how many ephemeral ports to try before giving up. Default 10. */
    bindAttempts?: number;
  };

export interface Listeners {
  udp: UdpListener;
  tcp: TcpListener;
  /** The shared address (UDP and TCP always hold the same port). */
  address: BoundAddress;
  /** UDP and TCP counters summed. */
  stats(): ListenerStats;
  /** Applies new settings to both (a config reload that keeps this address). */
  configure(settings: ListenerSettings): void;
  /** Closes both, each draining its in-flight answers. */
  close(): Promise<void>;
}

const DEFAULT_BIND_ATTEMPTS = 10;

/**
 * The options of a config for listen(): its listener settings, and how the UDP socket is read (config
 * `udp.batchedIo`), which is fixed once the socket is open.
 */
export function listenerOptions(
  config: Parameters<typeof listenerSettings>[0] & { udp: { batchedIo: boolean } },
): ListenerSettings & Pick<UdpListenerOptions, 'io'> {
  return { ...listenerSettings(config), io: config.udp.batchedIo ? 'batched' : 'dgram' };
}

/** The listener settings of a config (its shutdown, tcp and acl sections), for listen() and configure(). */
export function listenerSettings(config: {
  shutdown: { drainTimeoutMs: number };
  tcp: {
    firstQueryTimeoutMs: number;
    idleTimeoutMs: number;
    maxConnections: number;
    maxConnectionsPerClient: number;
    maxPipelined: number;
  };
  acl: { allow: readonly string[] };
}): ListenerSettings {
  return {
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    firstQueryTimeoutMs: config.tcp.firstQueryTimeoutMs,
    idleTimeoutMs: config.tcp.idleTimeoutMs,
    maxConnections: config.tcp.maxConnections,
    maxConnectionsPerClient: config.tcp.maxConnectionsPerClient,
    maxInFlightPerConnection: config.tcp.maxPipelined,
    // The same served networks as the pipeline's ACL stage, applied at accept: a TCP connection from
    // outside is closed before it can hold a slot.
    isAllowed: createCidrMatcher(config.acl.allow),
  };
}

/** The factories listen() binds with; tests wrap them to provoke bind races. */
export interface ListenDeps {
  createUdpListener: typeof createUdpListener;
  createTcpListener: typeof createTcpListener;
}

/**
 * DNS is served on one port over both UDP and TCP (truncated UDP answers send clients to TCP on the
 * same port). With port 0 UDP picks an ephemeral port and TCP takes the same one; if another program
 * holds that TCP port, start over with a new one, a bounded number of times.
 * Rejects with RojeError ROJE_ERR_LISTEN_FAILED naming the transport, address and cause.
 */
export async function listen(
  address: ListenAddress,
  responder: Responder,
  options: ListenOptions,
  deps: ListenDeps = { createUdpListener, createTcpListener },
): Promise<Listeners> {
  const attempts = address.port === 0 ? Math.max(1, options.bindAttempts ?? DEFAULT_BIND_ATTEMPTS) : 1;
  for (let attempt = 1; ; attempt++) {
    const udp = await deps.createUdpListener(address, responder, options);
    const port = udp.address().port;
    let tcp: TcpListener;
    try {
      tcp = await deps.createTcpListener({ host: address.host, port }, responder, options);
    } catch (err) {
      await udp.close();
      if (attempt < attempts && isAddressInUse(err)) continue;
      throw err;
    }
    const bound = udp.address();
    // The caller's logger is already the transport's child logger: adding `module` again would
    // write the key twice in one JSON line.
    options.logger.info({ host: bound.host, port: bound.port }, 'listening on udp and tcp');
    return bundle(udp, tcp);
  }
}

function bundle(udp: UdpListener, tcp: TcpListener): Listeners {
  return {
    udp,
    tcp,
    address: udp.address(),
    stats: (): ListenerStats => sumListenerStats([udp.stats(), tcp.stats()]),
    configure: (settings: ListenerSettings): void => {
      udp.configure(settings);
      tcp.configure(settings);
    },
    close: async (): Promise<void> => {
      await Promise.all([udp.close(), tcp.close()]);
    },
  };
}

/** Counters of several listeners added up (UDP and TCP of one address; every address of a query loop). */
export function sumListenerStats(all: readonly ListenerStats[]): ListenerStats {
  const sum: ListenerStats = {
    messages: 0,
    responses: 0,
    dropped: 0,
    errors: 0,
    tcpConnections: 0,
    tcpOpen: 0,
    tcpRejected: 0,
  };
  for (const s of all) {
    for (const k of Object.keys(sum) as Array<keyof ListenerStats>) sum[k] += s[k];
  }
  return sum;
}
