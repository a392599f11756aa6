/**
 * SO_REUSEPORT from Node: `reusePort` on dgram.createSocket and net.Server#listen arrived in Node 22.12
 * and 23.1. With it, several threads of one process each bind the same address and the kernel spreads
 * the datagrams and connections over them by a hash of the client's address and port.
 */
export function supportsReusePort(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 23 || (major === 22 && minor >= 12);
}
