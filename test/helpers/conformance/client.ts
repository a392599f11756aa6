/**
 * Sends raw query bytes to a server on loopback over UDP, TCP, or several queries pipelined on one TCP
 * connection, and returns the raw answers. No retries: a server that stays silent (as it should for
 * some malformed queries) is an answer too, `null`.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export interface Server {
  host: string;
  port: number;
}

export function sendUdp(server: Server, wire: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(reply: Buffer | null) {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    }
    socket.on('error', () => finish(null));
    // The first datagram back: a server answers from the address it was asked at.
    socket.on('message', (msg) => finish(msg));
    socket.send(wire, server.port, server.host);
  });
}

/**
 * Sends every query on one TCP connection at once (pipelined, RFC 7766 6.2.1.1) and collects one answer
 * per query, matched by message ID (answers may come out of order), `null` for those with none when the
 * server closed or the time ran out.
 */
export function sendTcp(server: Server, wires: Buffer[], timeoutMs: number): Promise<Array<Buffer | null>> {
  return new Promise((resolve) => {
    const answers: Array<Buffer | null> = wires.map(() => null);
    const pending = new Map<number, number[]>();
    wires.forEach((w, i) => {
      const id = w.length >= 2 ? w.readUInt16BE(0) : -1;
      pending.set(id, [...(pending.get(id) ?? []), i]);
    });
    let got = 0;
    let buffered = Buffer.alloc(0);
    const socket = connect(server.port, server.host);
    const timer = setTimeout(() => finish(), timeoutMs);
    function finish() {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    }
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.on('connect', () => {
      socket.write(
        Buffer.concat(
          wires.flatMap((w) => {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(w.length);
            return [len, w];
          }),
        ),
      );
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        const id = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
        const waiting = pending.get(id) ?? [];
        const index = waiting.shift();
        if (index === undefined) continue; // an answer to no query of ours: not counted
        answers[index] = Buffer.from(msg);
        if (++got === wires.length) finish();
      }
    });
  });
}
