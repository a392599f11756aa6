/**
 * Node's own UDP ceiling: a server that copies the question, flips the header to a response and appends one
 * fixed A record. It does no lookup, no cache and no policy, so whatever it reaches is what dgram + the event
 * loop can do on one core; roje's hit path is judged against it.
 *
 * Run alone: `node --import @tapjs/typescript/import bench/load/trivial-server.ts --listen 127.0.0.1:0`;
 * it prints one JSON line `{"listening":"127.0.0.1:PORT"}` once bound and exits on SIGTERM/SIGINT.
 */
import dgram from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RojeError } from '../../src/errors.js';

const HEADER_SIZE = 12;
/** Name pointer to offset 12 (the question's QNAME), TYPE A, CLASS IN, TTL 300, RDLENGTH 4, 192.0.2.1. */
const ANSWER = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 192, 0, 2, 1]);

/**
 * The response for `query`, or undefined when it is not a single-question query we can echo. The question
 * is cut where it ends so an EDNS OPT from the client never lands before our answer.
 */
export function buildTrivialAnswer(query: Buffer): Buffer | undefined {
  const len = query.length;
  if (len < HEADER_SIZE + 5 || (query[2]! & 0x80) !== 0 || query[4] !== 0 || query[5] !== 1) return undefined;
  let at = HEADER_SIZE;
  // Walk the labels only to find where QNAME ends; pointers cannot occur in a question we accept.
  for (;;) {
    if (at >= len) return undefined;
    const labelLength = query[at]!;
    if (labelLength === 0) break;
    if (labelLength > 63) return undefined;
    at += labelLength + 1;
  }
  const questionEnd = at + 5;
  if (questionEnd > len) return undefined;
  const out = Buffer.allocUnsafe(questionEnd + ANSWER.length);
  query.copy(out, 0, 0, questionEnd);
  out[2] = (query[2]! | 0x80) & 0xf9; // QR on, AA and TC off, opcode and RD kept
  out[3] = 0x80; // RA on, Z/AD/CD and RCODE cleared
  out.writeUInt32BE(0x00010001, 4); // QDCOUNT 1, ANCOUNT 1
  out.writeUInt32BE(0, 8); // NSCOUNT 0, ARCOUNT 0
  ANSWER.copy(out, questionEnd);
  return out;
}

export interface TrivialServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface TrivialServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export function createTrivialServer(options: TrivialServerOptions): Promise<TrivialServer> {
  const socket = dgram.createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (msg, rinfo) => {
    const out = buildTrivialAnswer(msg);
    if (out !== undefined) socket.send(out, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(
        new RojeError(
          'ROJE_ERR_LISTEN_FAILED',
          `trivial server: cannot bind ${options.host}:${options.port}: ${err.message}`,
          { cause: err },
        ),
      );
    };
    socket.once('error', onError);
    socket.bind(options.port, options.host, () => {
      socket.off('error', onError);
      // A late socket error must not kill a benchmark run silently mid-way; report and keep serving.
      socket.on('error', (err) => process.stderr.write(`trivial server: ${err.message}\n`));
      resolve({
        host: options.host,
        port: socket.address().port,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}

function splitHostPort(listen: string): { host: string; port: number } {
  const cut = listen.lastIndexOf(':');
  const host = listen.slice(0, cut).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(cut + 1));
  if (cut <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RojeError('ROJE_ERR_CLI_USAGE', `--listen must be HOST:PORT (got "${listen}")`);
  }
  return { host, port };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: 'string', default: '127.0.0.1:0' } } });
  const server = await createTrivialServer(splitHostPort(values.listen));
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ listening: `${server.host}:${server.port}` })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
