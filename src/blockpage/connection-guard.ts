import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientKey } from '../net/client-key.js';

export interface ConnectionLimits {
  /** Open connections, all listeners and clients together. */
  maxTotal: number;
  /** Open connections from one client (an IPv4 address or an IPv6 /64). */
  maxPerClient: number;
}

export interface ConnectionGuard {
  /** Counts the server's connections; one guard is shared by every listener of the block page. */
  attach(server: Server): void;
  /** Open connections now; those closed at accept; those of the heaviest client closed to make room. */
  stats(): { open: number; refused: number; jostled: number };
}

/**
 * Closes a new connection at once when its client already holds `maxPerClient`. When the block page
 * holds `maxTotal`, a client with fewer connections than the heaviest one takes the heaviest one's
 * oldest (unbound's jostle); otherwise the newcomer is closed. So a few hostile devices that fill
 * every slot with half-sent requests cannot shut a new visitor out, and the page never holds more
 * than `maxTotal` descriptors.
 */
export function createConnectionGuard(
  limits: ConnectionLimits,
  onRefuse?: (why: 'total' | 'client') => void,
): ConnectionGuard {
  /** Each client's open sockets, oldest first (a Set keeps insertion order). */
  const byClient = new Map<number, Set<Socket>>();
  // Kept apart: a destroyed socket no longer knows its remote address.
  const keyOf = new WeakMap<Socket, number>();
  let open = 0;
  let refused = 0;
  let jostled = 0;

  /** The heaviest client's oldest socket, if that client holds more than `than` + 1. */
  function victim(than: number): Socket | undefined {
    let heaviest: Set<Socket> | undefined;
    for (const sockets of byClient.values()) {
      if (heaviest === undefined || sockets.size > heaviest.size) heaviest = sockets;
    }
    if (heaviest === undefined || heaviest.size <= than + 1) return undefined;
    return heaviest.values().next().value;
  }

  function refuse(socket: Socket, why: 'total' | 'client'): void {
    refused++;
    socket.destroy();
    onRefuse?.(why);
  }

  function onConnection(socket: Socket): void {
    const key = clientKey(socket.remoteAddress ?? '');
    let mine = byClient.get(key);
    const held = mine?.size ?? 0;
    if (held >= limits.maxPerClient) {
      refuse(socket, 'client');
      return;
    }
    if (open >= limits.maxTotal) {
      const old = victim(held);
      if (old === undefined) {
        refuse(socket, 'total');
        return;
      }
      jostled++;
      forget(old);
      old.destroy();
    }
    if (mine === undefined) {
      mine = new Set();
      byClient.set(key, mine);
    }
    mine.add(socket);
    keyOf.set(socket, key);
    open++;
    socket.once('close', () => forget(socket));
  }

  /** Uncounts a socket once, whether it closed or was jostled out. */
  function forget(socket: Socket): void {
    const key = keyOf.get(socket);
    const mine = key === undefined ? undefined : byClient.get(key);
    if (key === undefined || mine === undefined || !mine.delete(socket)) return;
    open--;
    if (mine.size === 0) byClient.delete(key);
  }

  return {
    attach(server) {
      // Before the HTTP parser's own listener, so that a refused socket never gets one.
      server.prependListener('connection', onConnection);
      // A backstop in the accept path. Node counts a socket until it has closed, so leave room for
      // those being closed to make way for a newcomer.
      server.maxConnections = limits.maxTotal + limits.maxPerClient;
    },
    stats: () => ({ open, refused, jostled }),
  };
}
