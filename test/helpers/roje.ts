/**
 * Starts the real roje app in-process on an ephemeral loopback port, in front of explicit loopback
 * upstreams, and talks to it with real clients (dig, kdig, the fake upstream's tiny client).
 * Logs are collected as parsed pino lines so tests can assert on them.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import type { DecodedPacket, RecordType } from 'dns-packet';
import { type DestinationStream, pino } from 'pino';
import type { Test } from 'tap';
import { type App, createApp } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import type { RojeConfig } from '../../src/config/schema.js';
import { parseUpstreamUrl } from '../../src/upstream/url.js';
import { type QueryOptions, query } from './fake-upstream.js';

/** A raw config as the YAML file would give it; `upstreams` is required. */
export type RawRojeConfig = Record<string, unknown> & { upstreams: unknown[] };

export interface StartRojeOptions {
  /** Registers roje.stop() as a teardown of this test. */
  t?: Test;
  /** Log level of the collecting logger. Default: the config's log.level (default 'info'). */
  logLevel?: string;
}

/** One pino line, parsed. */
export type LogLine = Record<string, unknown> & { level: number; msg?: string };

export interface Roje {
  /** The first listener's address (127.0.0.1 unless the config says otherwise). */
  host: string;
  port: number;
  app: App;
  config: RojeConfig;
  /** Every log line so far, parsed. */
  logs: LogLine[];
  /** dig @host -p port +tries=1 +time=2 ...args, parsed. Never rejects on a DNS failure. */
  dig(args: string[], server?: { host: string; port: number }): Promise<DigResult>;
  /** kdig @host -p port +retry=0 +time=2 ...args, parsed the same way. */
  kdig(args: string[], server?: { host: string; port: number }): Promise<DigResult>;
  /** One query with the fake upstream's client (UDP by default). */
  query(name: string, type: RecordType, opts?: QueryOptions): ReturnType<typeof query>;
  /** Validates a raw config the way startRoje does (explicit loopback upstreams), for reload(). */
  configFor(raw: RawRojeConfig): Promise<RojeConfig>;
  stop(): Promise<void>;
}

export interface DigRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

export interface DigEde {
  code: number;
  /** The purpose dig prints in parentheses, e.g. "No Reachable Authority". */
  purpose: string;
  /** The EXTRA-TEXT, if any. */
  text?: string;
}

export interface DigResult {
  stdout: string;
  stderr: string;
  /** The process exit code (dig: 0 on any answer, 9 when no server replied). */
  exitCode: number;
  /** 'NOERROR', 'SERVFAIL', ... or null when there was no answer. */
  status: string | null;
  id: number | null;
  opcode: string | null;
  /** Header flags, lowercase: ['qr', 'rd', 'ra', 'tc', ...]. */
  flags: string[];
  question: { name: string; class: string; type: string } | null;
  answers: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** The OPT pseudo-record, when the response had one. */
  opt: { version: number; flags: string[]; udp: number } | null;
  ede: DigEde[];
  /** Size of the (last) response received, from ";; MSG SIZE rcvd: N" or kdig's ";; Received N B". */
  msgSize: number | null;
  /** dig saw TC and retried over TCP. */
  retriedTcp: boolean;
}

const DIG_TIMEOUT_MS = 10_000;

function assertLoopback(config: RojeConfig): void {
  for (const u of config.upstreams) {
    const { host } = parseUpstreamUrl(u.url);
    const ok = (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
    if (!ok) throw new Error(`startRoje: upstream ${u.url} is not on loopback; tests talk to loopback only`);
  }
}

async function buildConfig(raw: RawRojeConfig): Promise<RojeConfig> {
  if (!Array.isArray(raw.upstreams) || raw.upstreams.length === 0) {
    throw new Error('startRoje: give explicit loopback upstreams; never fall back to /etc/resolv.conf');
  }
  // The admin API is off unless a test asks for it: its default port would clash between tests. So is
  // the self-test: its queries would reach the test's fake upstream behind the test's back.
  const config = await validateConfig(
    { listen: ['127.0.0.1:0'], admin: { listen: null }, selfTest: { enabled: false }, ...raw },
    null,
  );
  assertLoopback(config);
  return config;
}

/** Starts roje with `raw` (listen defaults to 127.0.0.1:0) and explicit loopback upstreams. */
export async function startRoje(raw: RawRojeConfig, opts: StartRojeOptions = {}): Promise<Roje> {
  const config = await buildConfig(raw);
  const logs: LogLine[] = [];
  const destination: DestinationStream = {
    write(line: string) {
      logs.push(JSON.parse(line) as LogLine);
    },
  };
  const logger = pino({ level: opts.logLevel ?? config.log.level }, destination);
  const app = createApp(config, { logger });
  try {
    await app.start();
  } catch (err) {
    // createApp already opened the upstream pool.
    await app.stop();
    throw err;
  }
  const first = app.addresses()[0];
  const self = { host: first.host, port: first.port };
  let stopped: Promise<void> | undefined;

  const roje: Roje = {
    host: self.host,
    port: self.port,
    app,
    config,
    logs,
    dig: (args, server = self) => runDig('dig', ['+tries=1', '+time=2'], server, args),
    kdig: (args, server = self) => runDig('kdig', ['+retry=0', '+time=2'], server, args),
    query: (name, type, qopts) => query(self, name, type, qopts),
    configFor: buildConfig,
    stop: () => {
      stopped ??= app.stop();
      return stopped;
    },
  };
  opts.t?.teardown(() => roje.stop());
  return roje;
}

function runDig(
  tool: 'dig' | 'kdig',
  base: string[],
  server: { host: string; port: number },
  args: string[],
): Promise<DigResult> {
  const argv = [`@${server.host}`, '-p', String(server.port), ...base, ...args];
  return new Promise((resolve, reject) => {
    execFile(tool, argv, { timeout: DIG_TIMEOUT_MS }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e !== null && (typeof e.code !== 'number' || e.killed)) {
        reject(new Error(`${tool} ${argv.join(' ')} failed: ${e.message}`));
        return;
      }
      resolve({ ...parseDig(stdout), stdout, stderr, exitCode: typeof e?.code === 'number' ? e.code : 0 });
    });
  });
}

type Section = 'question' | 'answer' | 'authority' | 'additional' | null;

/**
 * Reads the presentation output of dig (BIND 9.18) or kdig (Knot 3.x). When dig retried over TCP the
 * output holds only the final answer after the ";; Truncated" note, so the last header wins.
 */
export function parseDig(stdout: string): Omit<DigResult, 'stdout' | 'stderr' | 'exitCode'> {
  const out: Omit<DigResult, 'stdout' | 'stderr' | 'exitCode'> = {
    status: null,
    id: null,
    opcode: null,
    flags: [],
    question: null,
    answers: [],
    authority: [],
    additional: [],
    opt: null,
    ede: [],
    msgSize: null,
    retriedTcp: /;; Truncated, retrying in TCP mode/.test(stdout),
  };
  let section: Section = null;
  for (const rawLine of stdout.split('\n')) {
    const line = rawLine.trim();
    const header = /->>HEADER<<- opcode: (\w+)[,;] status: (\w+)[,;] id: (\d+)/.exec(line);
    if (header !== null) {
      // A new answer (dig prints the UDP one only with +ignore or on failure): start over.
      out.opcode = header[1];
      out.status = header[2];
      out.id = Number(header[3]);
      out.answers = [];
      out.authority = [];
      out.additional = [];
      out.ede = [];
      out.opt = null;
      out.question = null;
      section = null;
      continue;
    }
    const flags = /^;; [Ff]lags: ([^;]*);/.exec(line);
    if (flags !== null) {
      out.flags = flags[1].trim().split(/\s+/).filter(Boolean);
      continue;
    }
    // dig: "; EDNS: version: 0, flags: do; udp: 1232"; kdig: ";; Version: 0; flags: do; UDP size: 1232 B; ..."
    const edns =
      /^; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(line) ??
      /^;; Version: (\d+); flags:([^;]*); UDP size: (\d+) B/.exec(line);
    if (edns !== null) {
      out.opt = {
        version: Number(edns[1]),
        flags: edns[2].trim().split(/\s+/).filter(Boolean),
        udp: Number(edns[3]),
      };
      continue;
    }
    // dig: "; EDE: 22 (No Reachable Authority): (upstreams timed out)"; kdig: ";; EDE: 22 (No Reachable Authority): 'text'"
    const ede = /^;;? EDE: (\d+)(?: \(([^)]*)\))?(?::\s*(.*))?$/.exec(line);
    if (ede !== null) {
      const e: DigEde = { code: Number(ede[1]), purpose: ede[2] ?? '' };
      const text = ede[3]?.trim().replace(/^\((.*)\)$|^'(.*)'$/, '$1$2');
      if (text !== undefined && text !== '') e.text = text;
      out.ede.push(e);
      continue;
    }
    const size = /^;; MSG SIZE\s+rcvd: (\d+)/.exec(line) ?? /^;; Received (\d+) B/.exec(line);
    if (size !== null) {
      out.msgSize = Number(size[1]);
      continue;
    }
    const title = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (title !== null) {
      section = title[1].toLowerCase() as Section;
      continue;
    }
    if (line === '') {
      section = null;
      continue;
    }
    if (section === 'question') {
      // dig: ";name. IN A"; kdig: ";; name. IN A"
      const q = /^;+\s*(\S+)\s+(\S+)\s+(\S+)$/.exec(line);
      if (q !== null) out.question = { name: q[1], class: q[2], type: q[3] };
      continue;
    }
    if (line.startsWith(';') || section === null) continue;
    const rr = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (rr === null) continue;
    const record: DigRecord = { name: rr[1], ttl: Number(rr[2]), class: rr[3], type: rr[4], data: rr[5] };
    if (section === 'answer') out.answers.push(record);
    else if (section === 'authority') out.authority.push(record);
    else out.additional.push(record);
  }
  return out;
}

/** Polls `cond` every 10 ms, for at most `timeoutMs` (a hang guard, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Upstream URL of a fake upstream (UDP, falling back to TCP on TC). */
export function udpUrl(fake: { host: string; port: number }): string {
  return fake.host.includes(':') ? `udp://[${fake.host}]:${fake.port}` : `udp://${fake.host}:${fake.port}`;
}

/** The RCODE name dns-packet decodes ('NOERROR', 'NXDOMAIN', ...); its types leave it out. */
export function rcodeName(packet: DecodedPacket): string | undefined {
  return (packet as DecodedPacket & { rcode?: string }).rcode;
}

/** The RDATA of each answer record as dns-packet decodes it ('192.0.2.1' for an A record). */
export function answerData(packet: DecodedPacket): unknown[] {
  return (packet.answers ?? []).map((a) => (a as { data?: unknown }).data);
}
