/** Wrong-block reports taken per minute: all clients together, and each client on its own. */
export interface ReportLimiter {
  /** Takes one report from `client` (net/client-key.ts) if both limits allow it; false means answer 429. */
  take(client: number, nowMs?: number): boolean;
}

/**
 * A fixed one-minute window. Only taken reports are counted, so the per-client map never holds more
 * than `perMinute` entries, whatever a flood of rejected reports does.
 */
export function createReportLimiter(limits: {
  perMinute: number;
  perClientPerMinute: number;
}): ReportLimiter {
  let minute = -1;
  let total = 0;
  const byClient = new Map<number, number>();
  return {
    take(client, nowMs = Date.now()) {
      const now = Math.floor(nowMs / 60_000);
      if (now !== minute) {
        minute = now;
        total = 0;
        byClient.clear();
      }
      const mine = byClient.get(client) ?? 0;
      // The client's own limit first: one client at its limit must not use up the shared one.
      if (mine >= limits.perClientPerMinute || total >= limits.perMinute) return false;
      byClient.set(client, mine + 1);
      total++;
      return true;
    },
  };
}
