/**
 * The upstream queue attack of issue #18, against roje and against unbound (reference) in one run: behind a
 * slow upstream (the fake upstream of test/helpers, every answer delayed), one client floods random names
 * at ~800 q/s (under its 1,000/s rate limit) while another asks fresh names at a low rate. What counts is
 * the second client's share of correct answers (NOERROR with the record) within 1 s, and what the attacker
 * got back. Loopback only: the attacker sends from 127.0.0.5, the legitimate client from 127.0.0.2, both to
 * a server on 127.0.0.1; every loop is bounded in count and time.
 *
 *   node --import @tapjs/typescript/import bench/hostile/queue.ts [--seconds 8] [--rate 800] [--delay 400]
 *
 * `queueAttack` is also what test/hostile/upstream-queue.test.ts runs against roje.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type FakeUpstream, startFakeUpstream } from '../../test/helpers/fake-upstream.js';
import {
  buildProbeQuery,
  createRunGroup,
  defaultRojeEntry,
  findFreePort,
  rojeServeArgs,
  runIfMain,
  waitForDns,
} from '../load/processes.js';

export const ATTACKER = '127.0.0.5';
export const LEGITIMATE = '127.0.0.2';
/** The legitimate client's names: l<i>-<tag>.legit.test (one label under the apex, so that no NXDOMAIN for a parent covers them), each with one A record at the fake upstream. */
export const LEGIT_ADDRESS = '198.51.100.2';

export interface QueueAttackOptions {
  server: { host: string; port: number };
  /** Attacker queries per second. */
  rate: number;
  durationMs: number;
  /** One legitimate query every this many ms during the attack. */
  legitEveryMs: number;
  /** What counts as answered in time. Default 1000 ms. */
  deadlineMs?: number;
  /** A run's names differ from another's on the same upstream (no cache hits between runs). */
  tag: string;
}

export interface QueueAttackResult {
  legit: {
    sent: number;
    correct: number;
    late: number;
    wrong: number;
    /** Wrong answers by "RCODE/answer count". */
    wrongBy: Record<string, number>;
    lost: number;
    p50Ms: number;
    p99Ms: number;
  };
  /** Attacker answers by RCODE name, and the queries left unanswered. */
  attacker: { sent: number; byRcode: Record<string, number>; lost: number };
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The names the legitimate client of a run will ask; set them at the upstream before the run. */
export function legitNames(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `l${i}-${tag}.legit.test`);
}

export function addLegitNames(fake: FakeUpstream, names: readonly string[]): void {
  for (const name of names) fake.zone.set(name, 'A', [{ data: LEGIT_ADDRESS, ttl: 300 }]);
}

async function boundSocket(address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** Runs the flood and the legitimate client side by side; bounded by `durationMs` + the deadline. */
export async function queueAttack(options: QueueAttackOptions): Promise<QueueAttackResult> {
  const { server, rate, durationMs, legitEveryMs, tag } = options;
  const deadlineMs = options.deadlineMs ?? 1000;
  const attacker = await boundSocket(ATTACKER);
  const legit = await boundSocket(LEGITIMATE);
  const byRcode: Record<string, number> = {};
  let attackerAnswers = 0;
  attacker.on('message', (msg) => {
    if (msg.length < 12) return;
    const name = RCODES[msg[3] & 0x0f] ?? String(msg[3] & 0x0f);
    byRcode[name] = (byRcode[name] ?? 0) + 1;
    attackerAnswers++;
  });
  const names = legitNames(tag, Math.ceil(durationMs / legitEveryMs));
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let correct = 0;
  let late = 0;
  let wrong = 0;
  const wrongBy: Record<string, number> = {};
  legit.on('message', (msg) => {
    if (msg.length < 12) return;
    const started = sentAt.get(msg.readUInt16BE(0));
    if (started === undefined) return;
    sentAt.delete(msg.readUInt16BE(0));
    const ms = performance.now() - started;
    latencies.push(ms);
    const ok = (msg[3] & 0x0f) === 0 && msg.readUInt16BE(6) > 0;
    if (!ok) {
      wrong++;
      const why = `${RCODES[msg[3] & 0x0f] ?? msg[3] & 0x0f}/${msg.readUInt16BE(6)}`;
      wrongBy[why] = (wrongBy[why] ?? 0) + 1;
    } else if (ms > deadlineMs) late++;
    else correct++;
  });

  const maxAttack = Math.ceil((rate * durationMs) / 1000);
  const perTick = rate / 100;
  let attackSent = 0;
  let legitSent = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let owed = 0;
    const flood = setInterval(() => {
      // Catch up on ticks a busy event loop delayed, so the rate holds on average.
      const due = Math.min(maxAttack, Math.floor(((performance.now() - started) / 1000) * rate));
      owed = Math.min(due - attackSent, perTick * 20);
      for (let i = 0; i < owed && attackSent < maxAttack; i++, attackSent++) {
        const name = `a${attackSent}-${Math.floor(Math.random() * 1e9).toString(36)}-${tag}.flood.test`;
        attacker.send(buildProbeQuery(attackSent & 0xffff, name), server.port, server.host);
      }
    }, 10);
    const asker = setInterval(() => {
      if (legitSent >= names.length) return;
      const id = legitSent & 0xffff;
      sentAt.set(id, performance.now());
      legit.send(buildProbeQuery(id, names[legitSent++]), server.port, server.host);
    }, legitEveryMs);
    setTimeout(() => {
      clearInterval(flood);
      clearInterval(asker);
      resolve();
    }, durationMs);
  });
  // Stragglers: anything later than the deadline is late or lost anyway.
  await new Promise((r) => setTimeout(r, deadlineMs + 500));
  attacker.close();
  legit.close();
  latencies.sort((a, b) => a - b);
  return {
    legit: {
      sent: legitSent,
      correct,
      late,
      wrong,
      wrongBy,
      lost: sentAt.size,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    },
    attacker: { sent: attackSent, byRcode, lost: attackSent - attackerAnswers },
  };
}

/** unbound as it ships (its own jostle: num-queries-per-thread, jostle-timeout 200 ms), forwarding only to `upstreamPort`. */
async function writeUnboundConfig(dir: string, port: number, upstreamPort: number): Promise<string> {
  const file = path.join(dir, 'unbound.conf');
  await writeFile(
    file,
    `server:
  interface: 127.0.0.1@${port}
  port: ${port}
  do-ip4: yes
  do-ip6: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${path.join(dir, 'unbound.pid')}"
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  access-control: 0.0.0.0/0 refuse
  access-control: 127.0.0.0/8 allow
  outgoing-interface: 127.0.0.1
  do-not-query-localhost: no
  module-config: "iterator"
  root-hints: "${path.join(dir, 'root.hints')}"
  # unbound answers the RFC 6761 name test. itself (NXDOMAIN) unless told not to.
  local-zone: "test." nodefault
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${upstreamPort}
remote-control:
  control-enable: no
`,
  );
  await writeFile(
    path.join(dir, 'root.hints'),
    '.                 3600000 IN NS a.root.bench.invalid.\na.root.bench.invalid. 3600000 IN A 127.0.0.1\n',
  );
  await promisify(execFile)('unbound-checkconf', [file]);
  return file;
}

function row(peer: string, r: QueueAttackResult, load: string): string {
  const l = r.legit;
  const pct = ((100 * l.correct) / Math.max(1, l.sent)).toFixed(1);
  const a = r.attacker;
  const got = Object.entries(a.byRcode)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const wrongs = Object.entries(l.wrongBy)
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  return `| ${peer} | ${l.correct}/${l.sent} (${pct} %; late ${l.late}, lost ${l.lost}${wrongs ? `, wrong ${wrongs}` : ''}) | ${l.p50Ms.toFixed(0)} / ${l.p99Ms.toFixed(0)} ms | ${a.sent} sent: ${got}, ${a.lost} unanswered | ${load} |`;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const seconds = flag('seconds', 8);
  const rate = flag('rate', 800);
  const delayMs = flag('delay', 400);
  if (!(seconds > 0 && seconds <= 60 && rate > 0 && rate <= 5000))
    throw new Error('--seconds 1..60, --rate 1..5000');
  const durationMs = seconds * 1000;
  const legitEveryMs = 50;
  const fake = await startFakeUpstream({ apexes: ['legit.test', 'flood.test'] });
  fake.behave('*', { delayMs });
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  const rows: string[] = [];
  const group = createRunGroup((m) => console.error(m));
  const dir = await mkdtemp(path.join(tmpdir(), 'roje-queue-'));
  try {
    // roje in its own process, as deployed (built: npm run build), so the attacker and the fake upstream
    // in this one do not share its event loop.
    addLegitNames(fake, legitNames('roje', durationMs / legitEveryMs));
    const rojePort = await findFreePort('127.0.0.1');
    const rojeConf = path.join(dir, 'roje.yaml');
    await writeFile(rojeConf, `stateDir: ${path.join(dir, 'state')}\nlog:\n  level: warn\n`);
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const roje = group.spawn(
      'roje',
      process.execPath,
      rojeServeArgs(defaultRojeEntry(repo), '127.0.0.1', rojePort, fake.port, rojeConf, [
        '--admin',
        '127.0.0.1:0',
      ]),
    );
    await waitForDns('127.0.0.1', rojePort, 20_000, roje.exited, { name: 'probe.legit.test' });
    const mine = await queueAttack({
      server: { host: '127.0.0.1', port: rojePort },
      rate,
      durationMs,
      legitEveryMs,
      tag: 'roje',
    });
    rows.push(row('roje', mine, load()));
    await roje.stop();
    const port = await findFreePort('127.0.0.1');
    const conf = await writeUnboundConfig(dir, port, fake.port);
    const unbound = group.spawn('unbound', 'unbound', ['-d', '-c', conf]);
    await waitForDns('127.0.0.1', port, 10_000, unbound.exited, { name: 'probe.legit.test' });
    addLegitNames(fake, legitNames('unbound', durationMs / legitEveryMs));
    const r = await queueAttack({
      server: { host: '127.0.0.1', port },
      rate,
      durationMs,
      legitEveryMs,
      tag: 'unbound',
    });
    rows.push(row('unbound (default jostle)', r, load()));
  } finally {
    await group.stopAll();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `Upstream queue attack, ${new Date().toISOString()}: ${rate} q/s random names from ${ATTACKER} for ${seconds} s behind a ${delayMs} ms upstream; ${LEGITIMATE} asks a fresh name every ${legitEveryMs} ms.\n`,
  );
  console.log('| server | legitimate: correct within 1 s | p50 / p99 | attacker | load average (1 5 15) |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

runIfMain(import.meta.url, main, (m) => console.error(m));
