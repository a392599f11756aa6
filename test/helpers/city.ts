/**
 * What the city tests (many roje instances on one PostgreSQL) share: one instance's config, a query
 * from a venue's address, and the city summary read until it settles.
 */
import { join } from 'node:path';
import type { AdminClient } from './admin-client.js';
import { query } from './fake-upstream.js';
import { answerData, rcodeName } from './roje.js';

export interface Server {
  host: string;
  port: number;
}

/**
 * Instance `instance` of the city: venues cafe (127.0.0.2), library (127.0.0.3) and square
 * (127.0.0.4), adult.txt blocked with NXDOMAIN, counts written every second to the store at `url`.
 */
export function cityConfig(o: {
  dir: string;
  instance: string;
  url: string;
  upstream: string;
  token: string;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    listen: ['127.0.0.1:0'],
    upstreams: [o.upstream],
    stateDir: join(o.dir, `state-${o.instance}`),
    selfTest: { enabled: false },
    lists: [{ category: 'adult', path: join(o.dir, 'adult.txt'), name: 'adult' }],
    policies: { default: { block: ['abuse', 'adult'], blockMode: 'nxdomain' } },
    venues: [
      { name: 'cafe', networks: ['127.0.0.2/32'], policy: 'default' },
      { name: 'library', networks: ['127.0.0.3/32'], policy: 'default' },
      { name: 'square', networks: ['127.0.0.4/32'], policy: 'default' },
    ],
    stats: { flushInterval: '1s' },
    store: { url: o.url, instance: o.instance, pollInterval: '5s' },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'operator', sha256: o.token }] },
    ...o.extra,
  };
}

/** One A query from `source`: its rcode and first address, or null when no answer came in 2 s. */
export async function askFrom(
  server: Server,
  source: string,
  name: string,
): Promise<{ rcode: string; address: string | null } | null> {
  try {
    const { decoded } = await query(server, name, 'A', { source, timeoutMs: 2000 });
    const first = answerData(decoded)[0];
    return { rcode: rcodeName(decoded) ?? '', address: typeof first === 'string' ? first : null };
  } catch {
    return null;
  }
}

export interface CitySummary {
  queries: number;
  blocked: number;
  byVenue: Array<{ venue: string; queries: number; blocked: number }>;
}

/**
 * The stats summary of this hour and the next (the whole city, or `instance`), read every 250 ms until
 * `done` says so or 15 s pass; the last one read either way.
 */
export async function summaryOf(
  api: AdminClient,
  filter: { instance?: string },
  done: (s: CitySummary) => boolean,
): Promise<CitySummary> {
  const now = Date.now();
  const from = new Date(now - 3_600_000).toISOString();
  const to = new Date(now + 3_600_000).toISOString();
  const q = `from=${from}&to=${to}${filter.instance === undefined ? '' : `&instance=${filter.instance}`}`;
  const started = Date.now();
  let last: CitySummary = { queries: -1, blocked: -1, byVenue: [] };
  while (Date.now() - started < 15_000) {
    const res = await api.get(`/api/v1/stats/summary?${q}`);
    if (res.status === 200) {
      last = res.json as unknown as CitySummary;
      if (done(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}
