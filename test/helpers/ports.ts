/**
 * Ports in tests without relying on one staying free: any other program on the machine (a parallel test
 * run, a DNS server, a browser) may bind any port at any moment, including one this process has just
 * closed. So a test takes port 0 and asks which one it got; holds a port itself when it needs one taken;
 * checks what this process holds (not what is free) when it needs one released; and tries another
 * port when it needs one closed and finds it was not.
 */
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Holds TCP `port` on `host` so that a bind there fails with EADDRINUSE. Null when another program
 * already holds it: the port is taken either way, which is all the caller wants.
 */
export function holdTcpPort(port: number, host = '127.0.0.1'): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(null);
      else reject(err);
    });
    server.listen(port, host, () => resolve(server));
  });
}

const PROC_NET = ['tcp', 'tcp6', 'udp', 'udp6'] as const;
export type SocketKind = (typeof PROC_NET)[number];

/**
 * The kinds of socket this process holds bound to local `port` (Linux: /proc/net/* matched against the
 * socket inodes in /proc/self/fd), e.g. ['tcp', 'udp']. Whether a port was released is a question about
 * this process, not about the port: another program may hold it a moment later.
 */
export function ownSocketsOn(port: number): SocketKind[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m !== null) inodes.add(m[1]);
    } catch {
      // Closed between readdir and readlink (the readdir's own fd among them).
    }
  }
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const kinds: SocketKind[] = [];
  for (const kind of PROC_NET) {
    let table: string;
    try {
      table = readFileSync(`/proc/net/${kind}`, 'utf8');
    } catch {
      continue; // no IPv6 on this host
    }
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      if (fields.length > 9 && fields[1].endsWith(`:${hex}`) && inodes.has(fields[9])) {
        kinds.push(kind);
        break;
      }
    }
  }
  return kinds;
}

/**
 * Runs `use` with a port that was closed a moment ago (bound on 127.0.0.1 and released), again with a
 * new port while `closed(result)` says another program had it by then, at most `tries` times; returns
 * the last result, for the caller's assertions.
 */
export async function withClosedPort<T>(
  protocol: 'tcp' | 'udp',
  use: (port: number) => Promise<T>,
  closed: (result: T) => boolean,
  tries = 3,
): Promise<T> {
  let result: T | undefined;
  for (let i = 0; i < tries; i++) {
    result = await use(await releasedPort(protocol));
    if (closed(result)) break;
  }
  return result as T;
}

async function releasedPort(protocol: 'tcp' | 'udp'): Promise<number> {
  if (protocol === 'tcp') {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
