/**
 * A hostile client against the block page (issue #18): 1,010 half-sent HTTP requests from one address,
 * each trickling a header byte every second, re-opened as fast as they are closed (bounded in count and
 * time). Meanwhile a legitimate client's DNS queries (UDP and TCP, fresh names that need the upstream)
 * must be answered within 1 s, the upstream must stay up, and another visitor still gets the block page.
 * Once reproduced against roje: descriptors exhausted, SERVFAIL EDE 23, TCP DNS silent, upstream down.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hashToken } from '../../src/admin/auth.js';
import { openFilesSoftLimit } from '../../src/blockpage/fd-limit.js';
import { BLOCK_PAGE_LIMITS } from '../../src/blockpage/limits.js';
import { adminClient } from '../helpers/admin-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const ATTACKER = '127.0.0.66';
const VISITOR = '127.0.0.2';
const ATTACK_SOCKETS = 1010;
/** Every connection attempt the attacker makes, in all: the re-opening loop stops there. */
const MAX_ATTEMPTS = 20_000;
const ATTACK_MS = 12_000;
const TOKEN = 'roje_hostile-blockpage-token';
const LEGIT_QUERIES = 300;

const dir = mkdtempSync(join(tmpdir(), 'roje-hostile-bp-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'adult.txt'), 'porn.example\n');

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
// A little upstream delay, so that every legitimate query holds an upstream socket for a while.
fake.behave('*', { delayMs: 20 });
for (let i = 0; i < LEGIT_QUERIES; i++) {
  fake.zone.set(`fresh-${i}.example.test`, 'A', [{ data: `198.51.100.${(i % 250) + 1}`, ttl: 300 }]);
}

const roje = await startRoje(
  {
    upstreams: [udpUrl(fake)],
    stateDir: join(dir, 'state'),
    lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
    blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
    policies: { default: { block: 'all', blockMode: 'blockpage' } },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(TOKEN) }] },
  },
  { t },
);
const api = adminClient(roje, TOKEN);
const status = await api.get('/api/v1/status');
const [page] = (status.json.blockPage as { listen: Array<{ host: string; port: number }> }).listen;

/** One attacker connection: connected and closed times, as the attacker sees them. */
interface Attempt {
  openedAt: number;
  connectedAt: number | null;
  closedAt: number | null;
  /** When the server's first bytes came: its 408 at the header deadline (a refused one gets none). */
  answeredAt: number | null;
  /** The first bytes the server sent, if any. */
  answer: string | null;
  /** Closed by the attacker when the attack ended, not by the server. */
  endedByAttacker: boolean;
}

/** The attack: keeps ATTACK_SOCKETS half-sent requests wanted, re-opening each one the server closes. */
function attack(): { attempts: Attempt[]; done: Promise<void> } {
  const attempts: Attempt[] = [];
  const sockets = new Set<Socket>();
  const trickle = setInterval(() => {
    for (const s of sockets) if (s.writable) s.write('X');
  }, 1000);
  const end = Date.now() + ATTACK_MS;
  const open = (): void => {
    if (Date.now() >= end || attempts.length >= MAX_ATTEMPTS) return;
    const a: Attempt = {
      openedAt: Date.now(),
      connectedAt: null,
      closedAt: null,
      answeredAt: null,
      answer: null,
      endedByAttacker: false,
    };
    attempts.push(a);
    const s = connect({ host: page.host, port: page.port, localAddress: ATTACKER });
    s.on('connect', () => {
      a.connectedAt = Date.now();
      // Trickled only once connected, so that no byte goes ahead of the request line.
      sockets.add(s);
      // Headers never finished: no blank line, and the last one keeps growing a byte a second.
      s.write('GET / HTTP/1.1\r\nHost: porn.example\r\nX-Slow: ');
    });
    s.on('error', () => {});
    s.once('data', (d: Buffer) => {
      a.answer = d.toString('latin1', 0, 12);
      a.answeredAt = Date.now();
    });
    s.on('close', () => {
      a.closedAt = Date.now();
      sockets.delete(s);
      // A second before the replacement: about 1,000 new connections a second (and no busy loop).
      setTimeout(open, 1000);
    });
  };
  for (let i = 0; i < ATTACK_SOCKETS; i++) open();
  const done = new Promise<void>((resolve) => {
    setTimeout(() => {
      clearInterval(trickle);
      for (const a of attempts) if (a.closedAt === null) a.endedByAttacker = true;
      for (const s of sockets) s.destroy();
      resolve();
    }, ATTACK_MS);
  });
  return { attempts, done };
}

/** The visitor's browser: the block page for a blocked name, from another address. */
function visit(): Promise<{ status: number; html: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: page.host,
        port: page.port,
        path: '/',
        localAddress: VISITOR,
        headers: { host: 'porn.example', 'accept-language': 'en' },
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

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

t.test('1,010 half-sent requests from one address take neither DNS nor the page', async (t) => {
  const fdLimit = openFilesSoftLimit();
  t.ok(fdLimit >= 2048, `the test process may hold the attack (open-files limit ${fdLimit})`);
  const fdBefore = openDescriptors();
  const { attempts, done } = attack();

  // The legitimate client: fresh names (the upstream must be asked), UDP and TCP alternating.
  const results: Array<{ ok: boolean; ms: number; transport: string; why?: string }> = [];
  const visits: Array<{ status: number; html: string; ms: number }> = [];
  const upstreamStates: string[] = [];
  let fdPeak = fdBefore;
  const sampler = setInterval(() => {
    fdPeak = Math.max(fdPeak, openDescriptors());
  }, 100);
  await new Promise((r) => setTimeout(r, 500)); // the attack's first wave is in
  const legit = (async () => {
    for (let i = 0; i < LEGIT_QUERIES; i++) {
      const transport = i % 2 === 0 ? 'udp' : 'tcp';
      const started = Date.now();
      try {
        const r = await roje.query(`fresh-${i}.example.test`, 'A', { transport, timeoutMs: 1000 });
        const answer = r.decoded.answers?.[0] as { data?: string } | undefined;
        const ok =
          (r.decoded as { rcode?: string }).rcode === 'NOERROR' &&
          answer?.data === `198.51.100.${(i % 250) + 1}`;
        results.push({
          ok,
          ms: Date.now() - started,
          transport,
          ...(ok ? {} : { why: (r.decoded as { rcode?: string }).rcode }),
        });
      } catch (err) {
        results.push({ ok: false, ms: Date.now() - started, transport, why: (err as Error).message });
      }
      if (i % 30 === 0) {
        visits.push(await visit());
        const s = await api.get('/api/v1/status');
        for (const u of s.json.upstreams as Array<{ state: string }>) upstreamStates.push(u.state);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  await Promise.all([legit, done]);
  clearInterval(sampler);

  const answered = results.filter((r) => r.ok && r.ms <= 1000).length;
  const rate = answered / results.length;
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99) - 1] ?? 0;
  const failures = results.filter((r) => !r.ok || r.ms > 1000);
  t.ok(rate >= 0.99, `legitimate DNS answered within 1 s: ${answered}/${results.length}`, {
    failures: failures.slice(0, 5),
  });
  t.ok(
    results.some((r) => r.transport === 'tcp' && r.ok),
    'TCP DNS kept answering',
  );
  t.ok(
    upstreamStates.length > 0 && upstreamStates.every((s) => s !== 'down'),
    `the upstream never marked down (${[...new Set(upstreamStates)].join(', ')})`,
  );
  t.ok(
    visits.every((v) => v.status === 403 && v.html.includes('porn.example')),
    `the other visitor got the block page every time (${visits.map((v) => v.status).join(' ')})`,
  );

  // The attack's outcome. A connection the server took is answered 408 at the header deadline; one
  // over a limit is closed without a byte. Every connection answered within the same 4 s was open at
  // once (each lived at least the 5 s deadline), so no such window may hold more than the limit.
  const connected = attempts.filter((a) => a.connectedAt !== null);
  const held = connected.filter((a) => a.answer === 'HTTP/1.1 408');
  const otherAnswers = connected.filter((a) => a.answer !== null && a.answer !== 'HTTP/1.1 408').length;
  const refused = connected.filter((a) => a.answer === null && !a.endedByAttacker).length;
  const answeredTimes = held.map((a) => a.answeredAt ?? 0).sort((x, y) => x - y);
  let peakHeld = 0;
  for (let i = 0, j = 0; i < answeredTimes.length; i++) {
    while ((answeredTimes[i] ?? 0) - (answeredTimes[j] ?? 0) >= 4000) j++;
    peakHeld = Math.max(peakHeld, i - j + 1);
  }
  const shortest = Math.min(...held.map((a) => (a.answeredAt ?? 0) - (a.connectedAt ?? 0)));
  const longest = Math.max(0, ...held.map((a) => (a.answeredAt ?? 0) - (a.connectedAt ?? 0)));
  const limit = BLOCK_PAGE_LIMITS.maxConnectionsPerClient;
  t.ok(refused >= ATTACK_SOCKETS - limit, `excess closed without a byte: ${refused}`);
  t.equal(otherAnswers, 0, 'no half-sent request got any other answer');
  t.ok(held.length > 0, `half-sent requests closed by the header deadline: ${held.length}`);
  t.ok(peakHeld <= limit, `the attacker never held more than ${limit} (peak ${peakHeld})`);
  t.ok(
    shortest >= BLOCK_PAGE_LIMITS.headersTimeoutMs - 100,
    `none closed before the deadline (${shortest} ms)`,
  );
  t.ok(fdPeak - fdBefore < fdLimit / 2, `descriptors stayed far from the limit (peak +${fdPeak - fdBefore})`);

  const figures = {
    attempts: attempts.length,
    connected: connected.length,
    refused,
    held: held.length,
    shortestHeldMs: shortest,
    peakHeld,
    longestHeldMs: longest,
    legit: `${answered}/${results.length}`,
    p50: sorted[Math.floor(sorted.length / 2)],
    p99,
    max: sorted[sorted.length - 1],
    visits: visits.map((v) => `${v.status}/${v.ms}ms`).join(' '),
    upstream: [...new Set(upstreamStates)].join(','),
    fdPeakAdded: fdPeak - fdBefore,
  };
  t.comment(JSON.stringify(figures));
  if (process.env.ROJE_HOSTILE_FIGURES !== undefined) {
    writeFileSync(process.env.ROJE_HOSTILE_FIGURES, `${JSON.stringify(figures)}\n`, { flag: 'a' });
  }
});
