import { RojeError } from '../errors.js';
import type { TransportName } from '../pipeline/types.js';
import { formatHostPort, type ResolvedHost, resolveHost } from './address.js';
import type { ListenAddress } from './types.js';

/** What an operator can do about the usual bind failures. */
const HINTS: Record<string, string> = {
  EACCES: 'permission denied; use an unprivileged port or grant CAP_NET_BIND_SERVICE',
  EADDRINUSE: 'already in use; another process (often another DNS server) holds this port',
  EADDRNOTAVAIL: 'address not available; this host has no interface with that address',
  EAFNOSUPPORT: 'address family not supported; is IPv6 disabled on this host?',
  ENOTFOUND: 'host name not found; use an IP address',
  EAI_AGAIN: 'host name lookup failed; use an IP address',
};

/** A bind failure as ROJE_ERR_LISTEN_FAILED, naming the transport, the address and the cause. */
export function listenError(transport: TransportName, host: string, port: number, err: unknown): RojeError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const hint = code === undefined ? undefined : HINTS[code];
  const cause = code === undefined ? String((err as Error | null)?.message ?? err) : code;
  const detail = hint === undefined ? cause : `${cause} (${hint})`;
  return new RojeError(
    'ROJE_ERR_LISTEN_FAILED',
    `cannot listen on ${transport} ${formatHostPort(host, port)}: ${detail}`,
    { cause: err },
  );
}

/** True when a listen error was caused by the port being taken (listen() retries these for port 0). */
export function isAddressInUse(err: unknown): boolean {
  return (err as { cause?: NodeJS.ErrnoException } | null)?.cause?.code === 'EADDRINUSE';
}

/** resolveHost for a listener: a host that cannot be resolved is a ROJE_ERR_LISTEN_FAILED like a bind error. */
export async function resolveListenHost(
  transport: TransportName,
  address: ListenAddress,
): Promise<ResolvedHost> {
  try {
    return await resolveHost(address.host);
  } catch (err) {
    throw listenError(transport, address.host, address.port, err);
  }
}
