/**
 * Fuzzing a running roje: seeded random and mutated DNS messages over UDP and TCP against the real binary
 * (dist/main.js serve) as a child process, forwarding to a fake upstream on loopback. Between bursts and at
 * the end a real query must get the right answer; the child's memory is sampled from /proc; at the end it
 * must exit 0 on SIGTERM with no "uncaught"/"unhandled" on stderr. See bench/README.md "Fuzzing".
 *
 *   node --import @tapjs/typescript/import bench/fuzz/fuzz.ts [--packets 1000000] [--seconds 300] [--seed 1]
 *
 * Any input that kills or hangs the server (no answer to the health query within 2 s) is saved, with the
 * packets sent just before it, to test/fixtures/fuzz-crashes/<sha>.bin, and the script exits 1.
 * Everything is on 127.0.0.1; every loop is bounded in count and time.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DecodedPacket } from 'dns-packet';
import { type FakeUpstream, query, startFakeUpstream } from '../../test/helpers/fake-upstream.js';
import { type ExitStatus, ROOT, type RojeProcess, spawnRoje } from '../../test/helpers/process.js';
import { residentBytes, runIfMain } from '../load/processes.js';
import { createRand, fuzzMessage, type Rand, type TcpPlan, tcpPlan } from './packets.js';

const HOST = '127.0.0.1';
export const CRASH_DIR = path.join(ROOT, 'test', 'fixtures', 'fuzz-crashes');
const HEALTH_TIMEOUT_MS = 2000;
/** UDP datagrams per burst; the pause between bursts sets the rate. */
const BURST = 50;
/** A fuzz TCP connection is closed after this long, whatever happened. */
const TCP_CONNECTION_MS = 300;
const RSS_SAMPLE_MS = 250;

export interface FuzzOptions {
  /** Messages to send (UDP datagrams + TCP frames). */
  packets: number;
  /** Wall-clock bound of the sending phase. */
  seconds: number;
  seed: number;
  /** Target messages per second over UDP (bursts of 50 paced to it). */
  udpRate: number;
  /** Share of the messages sent as TCP frames. */
  tcpShare: number;
  /** Fuzz TCP connections open at once. */
  tcpConcurrency: number;
  /** A health query every this many messages (and at the end). */
  checkEvery: number;
  /** Messages kept and saved when the server dies or hangs. */
  keep: number;
  /** Where failing inputs are saved; null: not saved. */
  crashDir: string | null;
  /** Wait after the run before the last memory reading. */
  settleMs: number;
  log: (message: string) => void;
}

export const DEFAULT_OPTIONS: FuzzOptions = {
  packets: 1_000_000,
  seconds: 300,
  seed: 1,
  udpRate: 7000,
  tcpShare: 0.15,
  tcpConcurrency: 16,
  checkEvery: 50_000,
  keep: 64,
  crashDir: CRASH_DIR,
  settleMs: 5000,
  log: (message) => process.stderr.write(`${message}\n`),
};

export interface FuzzResult {
  ok: boolean;
  /** Why it is not ok (empty when ok). */
  failures: string[];
  seed: number;
  settleMs: number;
  udpSent: number;
  udpSendErrors: number;
  udpReplies: number;
  tcpFrames: number;
  tcpConnections: number;
  tcpReplies: number;
  seconds: number;
  healthChecks: number;
  /** Health queries that went unanswered once but were answered on the retry a second later. */
  slowChecks: string[];
  /** VmRSS of the roje child, bytes: after warm-up, highest sample, after the settle period. */
  rss: { baseline: number; peak: number; after: number };
  alive: boolean;
  exit: ExitStatus | null;
  /** Error-level log lines of the child, by message. */
  errorLogs: Record<string, number>;
  saved: string[];
}

interface Target {
  roje: RojeProcess;
  server: { host: string; port: number };
  fake: FakeUpstream;
  stop(): Promise<ExitStatus | null>;
}

/** roje serve on a free loopback port, forwarding to a fake upstream, with the bundled sample lists. */
export async function startTarget(): Promise<Target> {
  const fake = await startFakeUpstream();
  fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
  fake.zone.set('a.example.test', 'A', [{ data: '192.0.2.2', ttl: 300 }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-fuzz-'));
  const config = path.join(dir, 'roje.yaml');
  // The rate limiter stays on (its code is fuzzed too) but never bites: every packet comes from 127.0.0.1.
  // A small cache so that "memory back to baseline" is not the cache filling up with fuzzed names.
  await writeFile(
    config,
    [
      'log: { level: info }',
      'rateLimit: { responsesPerSecond: 1000000, burst: 1000000 }',
      'cache: { maxBytes: 16MiB }',
      'tcp: { idleTimeout: 2s }',
      '',
    ].join('\n'),
  );
  const samples = path.join(ROOT, 'blocklists', 'samples');
  const roje = spawnRoje([
    'serve',
    '--config',
    config,
    '--listen',
    `${HOST}:0`,
    '--upstream',
    `udp://${HOST}:${fake.port}`,
    '--list',
    `adult=${path.join(samples, 'adult.hosts')}`,
    '--list',
    `gambling=${path.join(samples, 'gambling.adblock.txt')}`,
  ]);
  try {
    const { addresses } = await roje.ready(20_000);
    return {
      roje,
      server: addresses[0],
      fake,
      async stop() {
        let status: ExitStatus | null = null;
        if (roje.kill('SIGTERM')) {
          status = await roje.waitForExit(10_000).catch(() => null);
        }
        roje.kill('SIGKILL');
        await fake.close();
        await rm(dir, { recursive: true, force: true });
        return status;
      },
    };
  } catch (err) {
    roje.kill('SIGKILL');
    await fake.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A real query over UDP and TCP gets the right answer: an upstream name, and a listed (blocked) one. */
export async function healthy(server: { host: string; port: number }): Promise<string | null> {
  let transport: 'udp' | 'tcp' = 'udp';
  try {
    for (transport of ['udp', 'tcp'] as const) {
      const ok = await query(server, 'www.example.test', 'A', { transport, timeoutMs: HEALTH_TIMEOUT_MS });
      const data = (ok.decoded.answers ?? []).map((a) => ('data' in a ? String(a.data) : ''));
      if (rcodeOf(ok.decoded) !== 'NOERROR' || data.join() !== '192.0.2.1')
        return `${transport}: www.example.test A -> ${rcodeOf(ok.decoded)} ${data.join()}`;
      const blocked = await query(server, 'adult.roje.test', 'A', {
        transport,
        timeoutMs: HEALTH_TIMEOUT_MS,
      });
      if (rcodeOf(blocked.decoded) !== 'NXDOMAIN')
        return `${transport}: adult.roje.test A -> ${rcodeOf(blocked.decoded)}, not NXDOMAIN (blocked)`;
    }
    return null;
  } catch (err) {
    return `${transport}: ${(err as Error).message}`;
  }
}

function rcodeOf(packet: DecodedPacket): string | undefined {
  return (packet as DecodedPacket & { rcode?: string }).rcode;
}

interface Sent {
  transport: 'udp' | 'tcp';
  bytes: Buffer;
}

/** Saves each input as <sha256/16>.bin (a UDP datagram, or the raw bytes of a TCP connection). */
async function saveInputs(dir: string, inputs: readonly Sent[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const input of inputs) {
    const file = path.join(dir, `${createHash('sha256').update(input.bytes).digest('hex').slice(0, 16)}.bin`);
    await writeFile(file, input.bytes);
    files.push(file);
  }
  return files;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Plays one TCP plan on a new connection; resolves with the answers seen, always within TCP_CONNECTION_MS. */
function playTcp(server: { host: string; port: number }, plan: TcpPlan, rand: Rand): Promise<number> {
  return new Promise((resolve) => {
    let replies = 0;
    let buffered = Buffer.alloc(0);
    const socket = connect({ host: server.host, port: server.port });
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      resolve(replies);
    };
    timers.push(setTimeout(finish, TCP_CONNECTION_MS));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        replies++;
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
    });
    socket.on('connect', () => {
      switch (plan.kind) {
        case 'pipelined':
          for (const f of plan.frames) socket.write(f);
          socket.end();
          break;
        case 'lyingLength':
        case 'partial':
          socket.write(plan.bytes);
          // Leave it hanging for a while, then close: the server must not wait forever nor mind.
          timers.push(setTimeout(finish, 20 + rand.int(200)));
          break;
        case 'trickle': {
          // A few bytes at a time: frames split at every possible place.
          let at = 0;
          const step = () => {
            if (done || at >= plan.bytes.length) {
              if (!done) socket.end();
              return;
            }
            const n = 1 + rand.int(7);
            socket.write(plan.bytes.subarray(at, at + n));
            at += n;
            timers.push(setTimeout(step, 1));
          };
          step();
          break;
        }
        case 'abrupt':
          socket.write(plan.bytes);
          if (plan.reset) socket.resetAndDestroy();
          else socket.destroy();
          finish();
          break;
      }
    });
  });
}

/** Runs the fuzzer against a new roje child. Never throws for a server failure: see `ok` and `failures`. */
export async function runFuzz(partial: Partial<FuzzOptions> = {}): Promise<FuzzResult> {
  const o: FuzzOptions = { ...DEFAULT_OPTIONS, ...partial };
  const rand = createRand(o.seed);
  const target = await startTarget();
  const { roje, server } = target;
  const failures: string[] = [];
  const recent: Sent[] = [];
  const remember = (s: Sent) => {
    recent.push(s);
    if (recent.length > o.keep) recent.shift();
  };
  let exited = false;
  void roje.exit.then(() => {
    exited = true;
  });

  const sockets: UdpSocket[] = [];
  let udpReplies = 0;
  for (let i = 0; i < 4; i++) {
    const s = createSocket('udp4');
    s.on('message', () => udpReplies++);
    s.on('error', () => {});
    await new Promise<void>((resolve) => s.bind(0, HOST, () => resolve()));
    sockets.push(s);
  }

  let rssPeak = 0;
  const sampler = setInterval(() => {
    void residentBytes(roje.pid).then((b) => {
      if (b !== undefined && b > rssPeak) rssPeak = b;
    });
  }, RSS_SAMPLE_MS);

  let udpSent = 0;
  let udpSendErrors = 0;
  let tcpFrames = 0;
  let tcpConnections = 0;
  let tcpReplies = 0;
  let tcpOpen = 0;
  let healthChecks = 0;
  const slowChecks: string[] = [];
  let baseline = 0;
  let after = 0;
  let status: ExitStatus | null = null;
  let saved: string[] = [];
  const started = performance.now();

  const fail = async (why: string) => {
    failures.push(why);
    o.log(`FAIL: ${why}`);
    if (o.crashDir !== null) saved = await saveInputs(o.crashDir, recent);
  };
  const check = async (): Promise<boolean> => {
    healthChecks++;
    let problem = exited ? 'the server exited' : await healthy(server);
    if (problem !== null && !exited) {
      // One more try after a pause: a query lost in a full socket buffer under load is not a hang.
      slowChecks.push(problem);
      o.log(`health query failed once (${problem}); retrying`);
      await sleep(1000);
      problem = exited ? 'the server exited' : await healthy(server);
    }
    if (problem === null) return true;
    await fail(`after ${udpSent + tcpFrames} messages: ${problem}`);
    return false;
  };

  try {
    // Warm-up: the first health queries, then 2 % of the run (5k to 20k), then a settle: the baseline.
    if (!(await check())) throw new Error('not healthy before fuzzing');
    const warmup = Math.min(20_000, Math.max(5000, Math.ceil(o.packets * 0.02)));
    const deadline = started + o.seconds * 1000;
    let nextCheck = o.checkEvery;
    let baselineTaken = false;
    const burstPauseMs = (BURST / o.udpRate) * 1000;
    let burstStart = performance.now();
    let bursts = 0;
    while (udpSent + tcpFrames < o.packets && performance.now() < deadline && !exited) {
      const total = udpSent + tcpFrames;
      if (!baselineTaken && total >= warmup) {
        await sleep(2000);
        baseline = (await residentBytes(roje.pid)) ?? 0;
        baselineTaken = true;
        o.log(`baseline RSS ${(baseline / 2 ** 20).toFixed(1)} MB after ${total} messages`);
      }
      if (total >= nextCheck) {
        nextCheck += o.checkEvery;
        if (!(await check())) break;
        const rate = total / ((performance.now() - started) / 1000);
        o.log(`${total} messages (${udpSent} UDP, ${tcpFrames} TCP frames), ${rate.toFixed(0)}/s, alive`);
      }
      // TCP: keep up to tcpConcurrency connections going, as long as TCP is behind its share.
      while (tcpOpen < o.tcpConcurrency && tcpFrames < (udpSent + tcpFrames + 1) * o.tcpShare) {
        const { plan, frames, bytes } = tcpPlan(rand);
        remember({ transport: 'tcp', bytes });
        tcpFrames += frames;
        tcpConnections++;
        tcpOpen++;
        void playTcp(server, plan, rand).then((n) => {
          tcpReplies += n;
          tcpOpen--;
        });
      }
      for (let i = 0; i < BURST; i++) {
        const msg = fuzzMessage(rand);
        remember({ transport: 'udp', bytes: msg });
        sockets[i & 3].send(msg, server.port, server.host, (err) => {
          if (err) udpSendErrors++;
        });
        udpSent++;
      }
      bursts++;
      // Pace against the clock from the start, so that a slow burst is made up by shorter pauses.
      const wait = burstStart + bursts * burstPauseMs - performance.now();
      if (wait > 1) await sleep(wait);
      else await new Promise((resolve) => setImmediate(resolve));
      if (bursts >= 1000) {
        burstStart = performance.now();
        bursts = 0;
      }
    }
    if (!baselineTaken) baseline = (await residentBytes(roje.pid)) ?? 0;
    const sendingMs = performance.now() - started;
    for (let i = 0; i < 50 && tcpOpen > 0; i++) await sleep(20);
    if (exited) await fail(`the server exited: ${JSON.stringify(await roje.exit)}\n${roje.stderr()}`);
    else if (failures.length === 0) await check();
    await sleep(o.settleMs);
    after = (await residentBytes(roje.pid)) ?? 0;
    if (failures.length === 0 && !exited) await check();
    const alive = !exited;
    status = await target.stop();
    if (status === null || status.code !== 0) failures.push(`SIGTERM: exit ${JSON.stringify(status)}`);
    if (/uncaught|unhandled/i.test(roje.stderr())) failures.push(`stderr: ${roje.stderr().slice(0, 2000)}`);
    const errorLogs: Record<string, number> = {};
    for (const line of roje.logs()) {
      if (line.level === 'error' || line.level === 'fatal') {
        const key = String(line.msg);
        errorLogs[key] = (errorLogs[key] ?? 0) + 1;
      }
    }
    return {
      ok: failures.length === 0,
      failures,
      seed: o.seed,
      settleMs: o.settleMs,
      udpSent,
      udpSendErrors,
      udpReplies,
      tcpFrames,
      tcpConnections,
      tcpReplies,
      seconds: sendingMs / 1000,
      healthChecks,
      slowChecks,
      rss: { baseline, peak: Math.max(rssPeak, baseline, after), after },
      alive,
      exit: status,
      errorLogs,
      saved,
    };
  } finally {
    clearInterval(sampler);
    for (const s of sockets) s.close();
    if (status === null) await target.stop();
  }
}

/** Replays saved inputs against a fresh roje: each file as a UDP datagram and as the raw bytes of a TCP connection. */
export async function replayCrashes(dir: string = CRASH_DIR): Promise<{ files: number; failures: string[] }> {
  const names = existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.bin')).sort() : [];
  if (names.length === 0) return { files: 0, failures: [] };
  const target = await startTarget();
  const failures: string[] = [];
  let exited = false;
  void target.roje.exit.then(() => {
    exited = true;
  });
  const socket = createSocket('udp4');
  socket.on('error', () => {});
  try {
    for (const name of names) {
      const bytes = await readFile(path.join(dir, name));
      if (bytes.length <= 65_507) socket.send(bytes, target.server.port, target.server.host);
      await new Promise<void>((resolve) => {
        const s = connect(target.server);
        const timer = setTimeout(() => s.destroy(), TCP_CONNECTION_MS);
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        s.on('connect', () => s.end(bytes));
      });
      const health = exited ? 'the server exited' : await healthy(target.server);
      if (health !== null) {
        failures.push(`${name}: ${health}`);
        break;
      }
    }
  } finally {
    socket.close();
    const status = await target.stop();
    if (status === null || status.code !== 0) failures.push(`SIGTERM: exit ${JSON.stringify(status)}`);
  }
  return { files: names.length, failures };
}

const mb = (b: number) => (b / 2 ** 20).toFixed(1);

/** The result as a markdown section. */
export function renderMarkdown(r: FuzzResult): string {
  const total = r.udpSent + r.tcpFrames;
  const lines = [
    `### Fuzz run (seed ${r.seed}): ${r.ok ? 'passed' : 'FAILED'}`,
    '',
    '| measure | value |',
    '|---|---|',
    `| messages sent | ${total.toLocaleString('en')} in ${r.seconds.toFixed(1)} s (${(total / r.seconds).toFixed(0)}/s) |`,
    `| UDP datagrams | ${r.udpSent.toLocaleString('en')} (send errors ${r.udpSendErrors}), answers ${r.udpReplies.toLocaleString('en')} |`,
    `| TCP frames | ${r.tcpFrames.toLocaleString('en')} on ${r.tcpConnections.toLocaleString('en')} connections, answers ${r.tcpReplies.toLocaleString('en')} |`,
    `| health queries (UDP+TCP, allowed + blocked name) | ${r.healthChecks}, ${r.failures.length === 0 ? 'all answered correctly' : 'see failures'} |`,
    `| health queries answered only on the retry | ${r.slowChecks.length === 0 ? 'none' : r.slowChecks.join('; ')} |`,
    `| RSS of roje: baseline / peak / after ${r.settleMs / 1000} s | ${mb(r.rss.baseline)} / ${mb(r.rss.peak)} / ${mb(r.rss.after)} MB |`,
    `| alive at the end; SIGTERM exit | ${r.alive ? 'yes' : 'no'}; ${r.exit === null ? 'none' : `code ${r.exit.code}, signal ${r.exit.signal}`} |`,
    `| error log lines | ${
      Object.keys(r.errorLogs).length === 0
        ? 'none'
        : Object.entries(r.errorLogs)
            .map(([m, n]) => `${m} ×${n}`)
            .join('; ')
    } |`,
  ];
  if (r.failures.length > 0) lines.push('', '**Failures**', '', ...r.failures.map((f) => `- ${f}`));
  if (r.saved.length > 0) lines.push('', `Saved ${r.saved.length} inputs: ${r.saved.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      packets: { type: 'string', default: String(DEFAULT_OPTIONS.packets) },
      seconds: { type: 'string', default: String(DEFAULT_OPTIONS.seconds) },
      seed: { type: 'string', default: String(DEFAULT_OPTIONS.seed) },
      rate: { type: 'string', default: String(DEFAULT_OPTIONS.udpRate) },
    },
  });
  const num = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name}: an integer from 1 to ${max}`);
    return n;
  };
  const result = await runFuzz({
    packets: num('packets', values.packets, 100_000_000),
    seconds: num('seconds', values.seconds, 3600),
    seed: num('seed', values.seed, 0xffff_ffff),
    udpRate: num('rate', values.rate, 1_000_000),
  });
  process.stdout.write(renderMarkdown(result));
  if (!result.ok) process.exitCode = 1;
}

runIfMain(import.meta.url, main, (message) => process.stderr.write(`${message}\n`));
