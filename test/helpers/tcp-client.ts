/**
 * Raw DNS-over-TCP sockets for the connection-limit and hostile-client tests: bound to a chosen
 * loopback source address, they report when the server closed them, and can dribble bytes.
 */
import { connect, type Socket } from 'node:net';

export interface RawTcp {
  socket: Socket;
  /** Resolves (with the time, ms since connect) once the connection is closed, by either side. */
  closed: Promise<number>;
  isClosed(): boolean;
  /** Complete answers received so far (without their length prefix). */
  answers: Buffer[];
}

/** Connects from `localAddress` (a 127.x address) to 127.0.0.1:port; resolves once connected or closed. */
export function openTcp(port: number, localAddress: string, host = '127.0.0.1'): Promise<RawTcp> {
  const socket = connect({ port, host, localAddress, noDelay: true });
  const started = Date.now();
  const answers: Buffer[] = [];
  let pending = Buffer.alloc(0);
  let closed = false;
  const closedAt = new Promise<number>((resolve) => {
    socket.on('close', () => {
      closed = true;
      resolve(Date.now() - started);
    });
  });
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      answers.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
      pending = pending.subarray(2 + pending.readUInt16BE(0));
    }
  });
  socket.on('error', () => {});
  const raw: RawTcp = { socket, closed: closedAt, isClosed: () => closed, answers };
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(raw));
    void closedAt.then(() => resolve(raw));
  });
}

export { framedQuery } from './tcp-attack.js';

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
