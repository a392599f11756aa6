/** `edns`, `udp` and `tcp`: what roje accepts from clients over UDP and TCP, and how it reads them. */
import type { Static } from '@sinclair/typebox';
import { durationWithin } from '../config-error.js';
import { Type } from '../json-schema.js';
import { duration, HOUR, MINUTE, SECOND, type SectionContext, section } from './common.js';

export const EdnsSchema = section(
  {
    udpSize: Type.Integer({
      minimum: 512,
      maximum: 4096,
      default: 1232,
      description: 'the EDNS UDP payload size roje advertises and accepts (DNS Flag Day 2020: 1232)',
    }),
  },
  'EDNS(0)',
);

export type EdnsConfig = Static<typeof EdnsSchema>;

export function normalizeEdns(raw: EdnsConfig): EdnsConfig {
  return { udpSize: raw.udpSize };
}

export const UdpSchema = section(
  {
    batchedIo: Type.Boolean({
      default: true,
      description:
        'read and answer client datagrams in batches (recvmmsg/sendmmsg, the native module npm ci builds on Linux); false, or where the module is not built: one system call per datagram (Node dgram). Read when a listener opens',
    }),
  },
  'DNS over UDP from clients',
);

export type UdpConfig = Static<typeof UdpSchema>;

export function normalizeUdp(raw: UdpConfig): UdpConfig {
  return { batchedIo: raw.batchedIo };
}

export const TcpSchema = section(
  {
    idleTimeout: duration(
      '10s',
      'close a client TCP connection whose next complete query has not come this long after its last one (stray bytes do not count)',
    ),
    firstQueryTimeout: duration('3s', 'close a new client TCP connection without a complete query by then'),
    maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
    maxConnectionsPerClient: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 16,
      description: 'open TCP connections from one client address (IPv6: one /64); more are closed at once',
    }),
    maxPipelined: Type.Integer({ minimum: 1, maximum: 65535, default: 100 }),
  },
  'DNS over TCP from clients',
);

export type TcpConfig = ReturnType<typeof normalizeTcp>;

export function normalizeTcp(ctx: SectionContext, raw: Static<typeof TcpSchema>) {
  return {
    idleTimeoutMs: durationWithin(ctx.file, 'tcp.idleTimeout', raw.idleTimeout, SECOND, HOUR),
    firstQueryTimeoutMs: durationWithin(
      ctx.file,
      'tcp.firstQueryTimeout',
      raw.firstQueryTimeout,
      100,
      MINUTE,
    ),
    maxConnections: raw.maxConnections,
    maxConnectionsPerClient: raw.maxConnectionsPerClient,
    maxPipelined: raw.maxPipelined,
  };
}
