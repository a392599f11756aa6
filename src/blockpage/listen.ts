import { RojeError } from '../errors.js';
import { formatHostPort } from '../transport/address.js';
import type { ListenAddress } from '../transport/types.js';

const HINTS: Record<string, string> = {
  EACCES: 'permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE',
  EADDRINUSE: 'already in use; another web server holds this port',
  EADDRNOTAVAIL: 'address not available; this host has no interface with that address',
  EAFNOSUPPORT: 'address family not supported; is IPv6 disabled on this host?',
};

/** A block page bind failure as ROJE_ERR_LISTEN_FAILED, naming which listener, the address and the cause. */
export function blockPageListenError(
  kind: 'http' | 'refuseTls',
  address: ListenAddress,
  err: unknown,
): RojeError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const hint = code === undefined ? undefined : HINTS[code];
  const cause = code ?? String((err as Error | null)?.message ?? err);
  const what = kind === 'http' ? 'blockPage.listen' : 'blockPage.refuseTls';
  return new RojeError(
    'ROJE_ERR_LISTEN_FAILED',
    `cannot listen on ${what} ${formatHostPort(address.host, address.port)}: ${hint === undefined ? cause : `${cause} (${hint})`}`,
    { cause: err },
  );
}

/** An explicit IPv6 address binds IPv6 only; '::' stays dual-stack, as roje's DNS listeners do. */
export function ipv6Only(host: string): boolean {
  return host.includes(':') && host !== '::';
}
