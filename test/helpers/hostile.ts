/**
 * A hostile HTTP client for the hostile-client tests and bench (issue #18): many half-sent requests
 * from one address, each trickling a header byte a second, re-opened as the server closes them; and a
 * visitor's browser fetching the block page. Bounded in count and time; loopback only.
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { query } from './fake-upstream.js';

/** One attacker connection, as the attacker sees it. */
export interface Attempt {
  openedAt: number;
  connectedAt: number | null;
  closedAt: number | null;
  /** When the server's first bytes came: its 408 at the header deadline (a refused one gets none). */
  answeredAt: number | null;
  /** The first 12 bytes the server sent, if any ('HTTP/1.1 408'). */
  answer: string | null;
  /** Closed by the attacker when the attack ended, not by the server. */
  endedByAttacker: boolean;
}

export interface SlowHeadersAttack {
  target: { host: string; port: number };
  /** The attacker's source address (127.0.0.x). */
  from: string;
  /** Half-sent requests kept wanted at once. */
  sockets: number;
  /** Connection attempts in all: the re-opening loop stops there. */
  maxAttempts: number;
  durationMs: number;
  /** The Host header of the half-sent requests. */
  host: string;
}

export function slowHeadersAttack(o: SlowHeadersAttack): { attempts: Attempt[]; done: Promise<void> } {
  const attempts: Attempt[] = [];
  const all = new Set<Socket>();
  const connected = new Set<Socket>();
  const trickle = setInterval(() => {
    for (const s of connected) if (s.writable) s.write('X');
  }, 1000);
  const end = Date.now() + o.durationMs;
  const open = (): void => {
    if (Date.now() >= end || attempts.length >= o.maxAttempts) return;
    const a: Attempt = {
      openedAt: Date.now(),
      connectedAt: null,
      closedAt: null,
      answeredAt: null,
      answer: null,
      endedByAttacker: false,
    };
    attempts.push(a);
    const s = connect({ host: o.target.host, port: o.target.port, localAddress: o.from });
    all.add(s);
    s.on('connect', () => {
      a.connectedAt = Date.now();
      // Trickled only once connected, so that no byte goes ahead of the request line.
      connected.add(s);
      // Headers never finished: no blank line, and the last one keeps growing a byte a second.
      s.write(`GET / HTTP/1.1\r\nHost: ${o.host}\r\nX-Slow: `);
    });
    s.on('error', () => {});
    s.once('data', (d: Buffer) => {
      a.answer = d.toString('latin1', 0, 12);
      a.answeredAt = Date.now();
    });
    s.on('close', () => {
      a.closedAt = Date.now();
      all.delete(s);
      connected.delete(s);
      // A second before the replacement: about `sockets` new connections a second, no busy loop.
      setTimeout(open, 1000);
    });
  };
  for (let i = 0; i < o.sockets; i++) open();
  const done = new Promise<void>((resolve) => {
    setTimeout(() => {
      clearInterval(trickle);
      for (const a of attempts) if (a.closedAt === null) a.endedByAttacker = true;
      for (const s of all) s.destroy();
      resolve();
    }, o.durationMs);
  });
  return { attempts, done };
}

/** What became of the attack: refused at once, held until the header deadline (408), anything else. */
export function attackOutcome(attempts: Attempt[], headersTimeoutMs: number) {
  const connected = attempts.filter((a) => a.connectedAt !== null);
  const held = connected.filter((a) => a.answer === 'HTTP/1.1 408');
  // Every connection answered 408 within a window shorter than the deadline was open at the window's
  // start (each lived the whole deadline): the most in such a window is a floor of the most held at once.
  const times = held.map((a) => a.answeredAt ?? 0).sort((x, y) => x - y);
  let peakHeld = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] ?? 0) - (times[j] ?? 0) >= headersTimeoutMs - 1000) j++;
    peakHeld = Math.max(peakHeld, i - j + 1);
  }
  const lifetimes = held.map((a) => (a.answeredAt ?? 0) - (a.connectedAt ?? 0));
  return {
    attempts: attempts.length,
    connected: connected.length,
    refused: connected.filter((a) => a.answer === null && !a.endedByAttacker).length,
    held: held.length,
    otherAnswers: connected.filter((a) => a.answer !== null && a.answer !== 'HTTP/1.1 408').length,
    peakHeld,
    shortestHeldMs: lifetimes.length === 0 ? null : Math.min(...lifetimes),
    longestHeldMs: lifetimes.length === 0 ? null : Math.max(...lifetimes),
  };
}

/** A visitor's browser: the page for `host` from `from`; status 0 when it failed or took over 3 s. */
export function visitPage(
  target: { host: string; port: number },
  from: string,
  host: string,
): Promise<{ status: number; html: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: target.host,
        port: target.port,
        path: '/',
        localAddress: from,
        // A new connection each time, as a new visitor's browser opens (no kept-alive one to reuse).
        agent: false,
        headers: { host, 'accept-language': 'en' },
        timeout: 3000,
      },
      (res) => {
        let html = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          html += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, html, ms: Date.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, html: '', ms: Date.now() - started }));
    req.end();
  });
}

export interface LegitResult {
  ok: boolean;
  ms: number;
  transport: 'udp' | 'tcp';
  why?: string;
}

/**
 * A legitimate client: `count` fresh names fresh-<i>.example.test (the upstream must be asked; it
 * answers 198.51.100.<i % 250 + 1>), UDP and TCP alternating, one at a time with `gapMs` between, each
 * given 1 s; names from `first` on. `between(i)` runs after each query (a page visit, a status read...).
 */
export async function freshNameQueries(
  server: { host: string; port: number },
  count: number,
  gapMs: number,
  between: (i: number) => Promise<void> = async () => {},
  first = 0,
): Promise<LegitResult[]> {
  const results: LegitResult[] = [];
  for (let i = first; i < first + count; i++) {
    const transport = i % 2 === 0 ? 'udp' : 'tcp';
    const started = Date.now();
    try {
      const r = await query(server, freshName(i), 'A', { transport, timeoutMs: 1000 });
      const rcode = (r.decoded as { rcode?: string }).rcode;
      const answer = r.decoded.answers?.[0] as { data?: string } | undefined;
      const ok = rcode === 'NOERROR' && answer?.data === freshAddress(i);
      results.push({ ok, ms: Date.now() - started, transport, ...(ok ? {} : { why: rcode ?? 'no rcode' }) });
    } catch (err) {
      results.push({ ok: false, ms: Date.now() - started, transport, why: (err as Error).message });
    }
    await between(i);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return results;
}

export function freshName(i: number): string {
  return `fresh-${i}.example.test`;
}

export function freshAddress(i: number): string {
  return `198.51.100.${(i % 250) + 1}`;
}

/** Answered correctly within 1 s, and the latency percentiles, over every query. */
export function legitOutcome(results: LegitResult[]) {
  const answered = results.filter((r) => r.ok && r.ms <= 1000).length;
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
  return {
    answered,
    total: results.length,
    rate: results.length === 0 ? 0 : answered / results.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? 0,
    failures: results.filter((r) => !r.ok || r.ms > 1000).slice(0, 5),
  };
}
