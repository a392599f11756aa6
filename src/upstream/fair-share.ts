/**
 * Who may have how many upstream exchanges in flight. A client (and a venue) gets a bounded share of
 * `maxPending`, so one device flooding random names behind a slow upstream fills its own share and no
 * more. When the whole queue is full all the same (many clients at once), the oldest slow exchange of
 * the heaviest client gives way to the newcomer, as unbound's "jostle" does: its waiters are failed at
 * once (SERVFAIL or serve-stale) and the slot is freed. No I/O and no clock of its own: the pool passes
 * the time, so the rules are unit-tested deterministically.
 */

/** The client key of an exchange started by roje itself or a caller that gives none: no per-client cap. */
export const NO_CLIENT = -1;
/** The venue of a client of no venue (as query.venue): no per-venue cap. */
export const NO_VENUE = -1;

export const DEFAULT_JOSTLE_AFTER_MS = 200;

/**
 * A quarter of the queue per client: a flood from one device leaves three quarters to everyone else,
 * and a NAT gateway (one address for a whole venue) still gets 256 exchanges in flight by default,
 * ~2,500 misses/s behind a 100 ms upstream.
 */
export function defaultPerClient(maxPending: number): number {
  return Math.max(1, Math.floor(maxPending / 4));
}

/** Half of the queue per venue: one venue cannot take it all from the others. */
export function defaultPerVenue(maxPending: number): number {
  return Math.max(1, Math.floor(maxPending / 2));
}

export interface FairShareOptions {
  /** Exchanges in flight at most, all clients together. */
  maxPending: number;
  /** Exchanges in flight at most for one client (an IPv4 address or an IPv6 /64). */
  maxPerClient: number;
  /** Exchanges in flight at most for one venue's clients together. */
  maxPerVenue: number;
  /** An exchange younger than this is never jostled out (unbound's jostle-timeout, 200 ms). */
  jostleAfterMs: number;
  /**
   * Jostled exchanges still running out in the background at most (they hold a socket until their
   * timeout); past it the queue refuses newcomers instead of jostling. Default maxPending.
   */
  maxOrphans?: number;
}

/** One exchange in flight, charged to the client and venue that started it. */
export interface PendingExchange {
  readonly client: number;
  readonly venue: number;
  readonly startedAt: number;
  /** Called when the exchange is jostled out: fail its waiters now. */
  readonly onJostled: () => void;
  /** Set by the share: 'pending' while charged, 'jostled' once it gave way, 'done' when released. */
  state: 'pending' | 'jostled' | 'done';
}

export type Admission = 'ok' | 'client-full' | 'venue-full' | 'queue-full';

export interface FairShare {
  /** Charges `entry` or says why not; may jostle out an older exchange of a heavier client to admit it. */
  admit(entry: PendingExchange, now: number): Admission;
  /** The exchange has ended (answered or failed), whether it was jostled or not. */
  release(entry: PendingExchange): void;
  /** Exchanges charged now (jostled ones excluded). */
  readonly size: number;
  /** Jostled exchanges still running out. */
  readonly orphans: number;
  /** How many exchanges `client` has charged. */
  pendingOf(client: number): number;
}

export function createFairShare(options: FairShareOptions): FairShare {
  const { maxPending, jostleAfterMs } = options;
  const maxPerClient = Math.min(options.maxPerClient, maxPending);
  const maxPerVenue = Math.min(options.maxPerVenue, maxPending);
  const maxOrphans = options.maxOrphans ?? maxPending;
  // A Set keeps insertion order, so a client's first entry is its oldest; removal is O(1).
  const byClient = new Map<number, Set<PendingExchange>>();
  const byVenue = new Map<number, number>();
  let size = 0;
  let orphans = 0;

  function charge(entry: PendingExchange): void {
    let own = byClient.get(entry.client);
    if (own === undefined) {
      own = new Set();
      byClient.set(entry.client, own);
    }
    own.add(entry);
    if (entry.venue !== NO_VENUE) byVenue.set(entry.venue, (byVenue.get(entry.venue) ?? 0) + 1);
    size++;
  }

  function uncharge(entry: PendingExchange): void {
    const own = byClient.get(entry.client);
    if (own?.delete(entry) && own.size === 0) byClient.delete(entry.client);
    if (entry.venue !== NO_VENUE) {
      const n = (byVenue.get(entry.venue) ?? 1) - 1;
      if (n === 0) byVenue.delete(entry.venue);
      else byVenue.set(entry.venue, n);
    }
    size--;
  }

  /**
   * The oldest exchange of the client with the most in flight, if that client has more than the
   * newcomer's and the exchange is old enough to count as slow. Scans the clients: only when full.
   */
  function victimFor(newcomer: PendingExchange, now: number): PendingExchange | undefined {
    let heaviest: Set<PendingExchange> | undefined;
    for (const own of byClient.values()) {
      if (heaviest === undefined || own.size > heaviest.size) heaviest = own;
    }
    if (heaviest === undefined) return undefined;
    const newcomerHas = byClient.get(newcomer.client)?.size ?? 0;
    if (heaviest.size <= newcomerHas) return undefined;
    const oldest = heaviest.values().next().value as PendingExchange;
    return now - oldest.startedAt >= jostleAfterMs ? oldest : undefined;
  }

  function admit(entry: PendingExchange, now: number): Admission {
    if (entry.client !== NO_CLIENT && (byClient.get(entry.client)?.size ?? 0) >= maxPerClient) {
      return 'client-full';
    }
    if (entry.venue !== NO_VENUE && (byVenue.get(entry.venue) ?? 0) >= maxPerVenue) return 'venue-full';
    if (size >= maxPending) {
      if (orphans >= maxOrphans) return 'queue-full';
      const victim = victimFor(entry, now);
      if (victim === undefined) return 'queue-full';
      uncharge(victim);
      victim.state = 'jostled';
      orphans++;
      victim.onJostled();
    }
    charge(entry);
    entry.state = 'pending';
    return 'ok';
  }

  function release(entry: PendingExchange): void {
    if (entry.state === 'pending') uncharge(entry);
    else if (entry.state === 'jostled') orphans--;
    entry.state = 'done';
  }

  return {
    admit,
    release,
    get size() {
      return size;
    },
    get orphans() {
      return orphans;
    },
    pendingOf: (client) => byClient.get(client)?.size ?? 0,
  };
}
