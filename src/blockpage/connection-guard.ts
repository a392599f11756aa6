import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { blockPageClientKey } from './client-key.js';

export interface ConnectionLimits {
  /** Open connections, all listeners and clients together. */
  maxTotal: number;
  /** Open connections from one client (an IPv4 address or an IPv6 /64). */
  maxPerClient: number;
}

export interface ConnectionGuard {
  /** Counts the server's connections; one guard is shared by every listener of the block page. */
  attach(server: Server): void;
  /** Open connections now, and those closed at accept because a limit was reached. */
  stats(): { open: number; refused: number };
}

/**
 * Closes a new connection at once when the block page already holds `maxTotal`, or its client
 * `maxPerClient`: a hostile device with a thousand half-sent requests gets its first few, and the
 * other visitors (and DNS, whose descriptors these would be) keep theirs.
 */
export function createConnectionGuard(
  limits: ConnectionLimits,
  onRefuse?: (why: 'total' | 'client') => void,
): ConnectionGuard {
  const perClient = new Map<string, number>();
  let open = 0;
  let refused = 0;

  function onConnection(socket: Socket): void {
    const key = blockPageClientKey(socket.remoteAddress);
    const mine = perClient.get(key) ?? 0;
    if (open >= limits.maxTotal || mine >= limits.maxPerClient) {
      refused++;
      socket.destroy();
      onRefuse?.(open >= limits.maxTotal ? 'total' : 'client');
      return;
    }
    open++;
    perClient.set(key, mine + 1);
    socket.once('close', () => {
      open--;
      const left = (perClient.get(key) ?? 1) - 1;
      if (left === 0) perClient.delete(key);
      else perClient.set(key, left);
    });
  }

  return {
    attach(server) {
      // Before the HTTP parser's own listener, so that a refused socket never gets one.
      server.prependListener('connection', onConnection);
      // A backstop in the kernel-facing accept path; this guard counts across listeners.
      server.maxConnections = limits.maxTotal;
    },
    stats: () => ({ open, refused }),
  };
}
