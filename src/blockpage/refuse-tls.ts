import { createServer, type Server, type Socket } from 'node:net';
import type { BoundAddress, ListenAddress } from '../transport/types.js';
import { blockPageListenError, ipv6Only } from './listen.js';

/**
 * The block page address answers A/AAAA for blocked names, so browsers also try https:// there. roje
 * has no certificate for those names (and must not pretend to), so each connection is reset at once:
 * the browser shows a connection error immediately instead of waiting for a handshake that never
 * comes. Nothing is read from the socket, so no name (SNI) is ever seen or logged.
 */
export interface TlsRefuser {
  start(): Promise<void>;
  close(): Promise<void>;
  addresses(): BoundAddress[];
}

export function createTlsRefuser(listen: readonly ListenAddress[]): TlsRefuser {
  const servers: Server[] = [];

  function refuse(socket: Socket): void {
    socket.on('error', () => {});
    // resetAndDestroy (RST) tells the client at once; Node 20.0-20.4 lack it, destroy (FIN) is next best.
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  async function bind(address: ListenAddress): Promise<Server> {
    const server = createServer({ pauseOnConnect: true }, refuse);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(blockPageListenError('refuseTls', address, err)));
      server.listen({ host: address.host, port: address.port, ipv6Only: ipv6Only(address.host) }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve();
      });
    });
    return server;
  }

  return {
    async start() {
      try {
        for (const address of listen) servers.push(await bind(address));
      } catch (err) {
        await closeAll();
        throw err;
      }
    },
    close: closeAll,
    addresses() {
      return servers.flatMap((s) => {
        const info = s.address();
        if (info === null || typeof info === 'string') return [];
        return [
          { host: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' } as const,
        ];
      });
    },
  };

  async function closeAll(): Promise<void> {
    const all = servers.splice(0);
    await Promise.all(all.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
