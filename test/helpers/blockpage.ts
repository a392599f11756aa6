import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import type { Test } from 'tap';
import {
  type BlockExplanation,
  type BlockPageOptions,
  type BlockPageServer,
  type BlockReport,
  createBlockPageServer,
} from '../../src/blockpage/server.js';
import { BLOCKPAGE_ABUSE_CANARY } from './canaries.js';

/** Blocked names for the tests; the abuse canary stands in for a confidential feed entry. */
export const EXPLAIN: Record<string, BlockExplanation> = {
  'adult.roje.test': { categories: ['adult'], venue: 'Biblioteka Kombëtare', confidential: false },
  'bet.roje.test': { categories: ['gambling', 'custom-x'], venue: null, confidential: false },
  [BLOCKPAGE_ABUSE_CANARY]: { categories: ['abuse'], venue: 'Biblioteka Kombëtare', confidential: true },
  // The flag forgotten: the category alone must make it confidential.
  'unflagged-abuse.roje.test': { categories: ['adult', 'abuse'], venue: null, confidential: false },
};

export interface Started {
  server: BlockPageServer;
  base: string;
  reports: BlockReport[];
  logs: string[];
  explained: string[];
}

export async function startServer(
  t: Test,
  options: Partial<BlockPageOptions> = {},
  deps: { explain?: (host: string, client: string) => BlockExplanation | null; onReport?: null } = {},
): Promise<Started> {
  const reports: BlockReport[] = [];
  const logs: string[] = [];
  const explained: string[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
  const server = createBlockPageServer(
    { listen: [{ host: '127.0.0.1', port: 0 }], operatorName: 'Bashkia Tiranë', ...options },
    {
      explain:
        deps.explain ??
        ((host, client) => {
          explained.push(`${host} ${client}`);
          return EXPLAIN[host] ?? null;
        }),
      ...(deps.onReport === null ? {} : { onReport: (r: BlockReport) => void reports.push(r) }),
      logger,
    },
  );
  await server.start();
  t.teardown(() => server.close());
  const { port } = server.addresses()[0];
  return { server, base: `http://127.0.0.1:${port}`, reports, logs, explained };
}

/**
 * A loopback proxy that gives every request the blocked name as its Host, as a browser sent to the block
 * page address by DNS would: the browser itself only ever loads http://127.0.0.1 URLs (chromium ignores
 * a Host set with setExtraHTTPHeaders). An Origin naming the proxy becomes http://<host> for the same reason.
 * `localAddress`: the address the proxy connects from, i.e. the venue the block page sees the visitor at.
 * Closed in t's teardown.
 */
export async function hostProxy(t: Test, base: string, host: string, localAddress?: string): Promise<string> {
  const target = Number(new URL(base).port);
  let self = '';
  const proxy = createServer((req, res) => {
    const headers = { ...req.headers, host };
    if (headers.origin === self) headers.origin = `http://${host}`;
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: target,
        path: req.url,
        method: req.method,
        headers,
        ...(localAddress !== undefined ? { localAddress } : {}),
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  );
  return self;
}
