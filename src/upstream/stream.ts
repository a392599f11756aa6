import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { checkUpstreamResponse, setId } from '../dns/upstream-message.js';
import { RojeError } from '../errors.js';
import { randomId } from './random-id.js';
import { checkServerIdentity } from './server-identity.js';
import type { UpstreamTransport } from './types.js';
import type { UpstreamUrl } from './url.js';

export interface StreamTransportOptions {
  /** DNS over TLS (RFC 7858): verify the certificate against target.servername (or the IP). */
  tls?: boolean;
  /** Extra trusted CA certificates (PEM), for private resolvers. */
  ca?: string;
  /** Queries in flight on one connection before another is opened. Default 128. */
  maxInFlight?: number;
  /** Connections per upstream. Default 4. */
  maxConnections?: number;
  /** Close a connection after this long without queries (RFC 7766 §6.2.3). Default 10 000 ms. */
  idleMs?: number;
}

interface Pending {
  msg: Buffer;
  framed: Buffer;
  resolve: (response: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** Sent again once on a fresh connection if the server closed this one before answering. */
  retried: boolean;
  conn: Connection | null;
}

interface Connection {
  socket: Socket;
  inFlight: Map<number, Pending>;
  /** Partial frame bytes carried between 'data' events. */
  buffered: Buffer | null;
  idleTimer: NodeJS.Timeout | null;
  dead: boolean;
}

/**
 * DNS over TCP (and, with `tls`, over TLS) with persistent, pipelined connections (RFC 7766): many
 * queries in flight per connection, matched by ID, each ID unique on its connection. A connection is
 * reopened on demand after the server closes it and closed by us when idle. Unlike UDP, a response
 * that fails the anti-spoofing check is an error: nobody off-path can inject into the stream, so a
 * wrong answer means a broken server.
 *
 * long-function: the open connections are this transport's state, shared by its short inner functions
 * (open, read frames, kill, settle, send, exchange, close).
 */
export function createStreamTransport(
  target: UpstreamUrl,
  options: StreamTransportOptions = {},
): UpstreamTransport {
  const maxInFlight = options.maxInFlight ?? 128;
  const maxConnections = options.maxConnections ?? 4;
  const idleMs = options.idleMs ?? 10_000;
  const connections: Connection[] = [];
  let closed = false;

  function openConnection(): Connection {
    const socket = options.tls
      ? tlsConnect({
          host: target.host,
          port: target.port,
          // SNI must not carry an IP (RFC 6066); the identity check then uses the IP itself.
          servername:
            target.servername !== undefined && isIP(target.servername) === 0 ? target.servername : undefined,
          ca: options.ca,
          checkServerIdentity,
        })
      : netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const conn: Connection = { socket, inFlight: new Map(), buffered: null, idleTimer: null, dead: false };
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.on('error', (err) => kill(conn, err));
    socket.on('close', () => kill(conn, null));
    connections.push(conn);
    return conn;
  }

  function onData(conn: Connection, chunk: Buffer): void {
    let data = conn.buffered === null ? chunk : Buffer.concat([conn.buffered, chunk]);
    conn.buffered = null;
    while (data.length >= 2) {
      const len = data.readUInt16BE(0);
      if (data.length < 2 + len) break;
      const response = data.subarray(2, 2 + len);
      data = data.subarray(2 + len);
      if (len < 12) {
        // No header, so no ID to match: the stream cannot be trusted any more.
        kill(conn, new RojeError('ROJE_ERR_UPSTREAM_BAD_RESPONSE', `${target.url}: ${len}-byte message`));
        return;
      }
      const pending = conn.inFlight.get(response.readUInt16BE(0));
      if (pending === undefined) continue; // late answer to a query that already timed out
      conn.inFlight.delete(response.readUInt16BE(0));
      clearTimeout(pending.timer);
      const check = checkUpstreamResponse(pending.msg, response);
      // Copy out: the frame may share a chunk with other messages that are still being read.
      if (check === 'ok') pending.resolve(Buffer.from(response));
      else pending.reject(new RojeError('ROJE_ERR_UPSTREAM_BAD_RESPONSE', `${target.url}: ${check} answer`));
      afterSettle(conn);
    }
    if (data.length > 0) conn.buffered = Buffer.from(data);
  }

  function kill(conn: Connection, err: Error | null): void {
    if (conn.dead) return;
    conn.dead = true;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    const i = connections.indexOf(conn);
    if (i >= 0) connections.splice(i, 1);
    conn.socket.destroy();
    const pendings = [...conn.inFlight.values()];
    conn.inFlight.clear();
    for (const p of pendings) {
      // A server may close an idle-looking connection just as we write to it (RFC 7766 §6.2.4):
      // those queries get one more try on a fresh connection, within their own timers.
      if (err === null && !closed && !p.retried) {
        p.retried = true;
        if (send(p)) continue;
      }
      clearTimeout(p.timer);
      p.reject(
        err instanceof RojeError
          ? err
          : new RojeError(
              'ROJE_ERR_UPSTREAM_NETWORK',
              `${target.url}: ${err === null ? 'connection closed before the answer' : err.message}`,
              { cause: err ?? undefined },
            ),
      );
    }
  }

  function afterSettle(conn: Connection): void {
    if (conn.inFlight.size > 0 || conn.dead) return;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    // An idle connection must not keep the process alive.
    conn.socket.unref();
    conn.idleTimer = setTimeout(() => {
      conn.socket.end();
      kill(conn, null);
    }, idleMs);
    conn.idleTimer.unref();
  }

  /** Puts a pending query on a connection with room; false if every connection is full. */
  function send(p: Pending): boolean {
    let conn: Connection | undefined;
    for (const c of connections) {
      if (!c.dead && c.inFlight.size < maxInFlight) {
        conn = c;
        break;
      }
    }
    if (conn === undefined) {
      if (connections.length >= maxConnections) return false;
      conn = openConnection();
    }
    if (p.conn !== null) {
      // A retry: the old frame may still sit in the dead socket's queue, so write a new one.
      p.framed = Buffer.from(p.framed);
      p.msg = p.framed.subarray(2);
    }
    let id = randomId();
    // IDs must be unique per connection; at most maxInFlight are taken, so this ends quickly.
    while (conn.inFlight.has(id)) id = randomId();
    setId(p.msg, id);
    p.conn = conn;
    if (conn.idleTimer !== null) {
      clearTimeout(conn.idleTimer);
      conn.idleTimer = null;
    }
    conn.socket.ref();
    conn.inFlight.set(id, p);
    conn.socket.write(p.framed);
    return true;
  }

  function exchange(query: Buffer, timeoutMs: number): Promise<Buffer> {
    if (closed)
      return Promise.reject(new RojeError('ROJE_ERR_UPSTREAM_NETWORK', `${target.url}: transport closed`));
    if (query.length > 65535) {
      return Promise.reject(new RojeError('ROJE_ERR_UPSTREAM_NETWORK', `${target.url}: query too large`));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const framed = Buffer.allocUnsafe(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      const p: Pending = {
        msg: framed.subarray(2),
        framed,
        resolve,
        reject,
        retried: false,
        conn: null,
        timer: setTimeout(() => {
          const c = p.conn;
          const id = p.msg.readUInt16BE(0);
          if (c !== null && c.inFlight.get(id) === p) {
            c.inFlight.delete(id);
            afterSettle(c);
          }
          reject(
            new RojeError('ROJE_ERR_UPSTREAM_TIMEOUT', `${target.url}: no answer within ${timeoutMs} ms`),
          );
        }, timeoutMs),
      };
      if (!send(p)) {
        clearTimeout(p.timer);
        reject(new RojeError('ROJE_ERR_UPSTREAM_NETWORK', `${target.url}: too many queries in flight`));
      }
    });
  }

  async function close(): Promise<void> {
    closed = true;
    for (const conn of [...connections]) {
      kill(conn, new RojeError('ROJE_ERR_UPSTREAM_NETWORK', `${target.url}: transport closed`));
    }
  }

  return { url: target.url, exchange, close };
}
