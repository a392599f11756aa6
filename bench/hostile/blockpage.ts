/**
 * The block page under attack (issue #18), against roje in its own process under a 1,024 open-files
 * limit (the limit the attack once exhausted), with the attacker and the legitimate client here:
 *
 *   node --import @tapjs/typescript/import bench/hostile/blockpage.ts [--seconds 12]
 *
 * Two attacks, each bounded in time and in connection attempts, loopback only: 1,010 half-sent
 * requests from one address, then the same from 20 addresses (past the block page's total of 256).
 * Meanwhile a legitimate client asks fresh names (UDP and TCP) and a visitor loads the page.
 * Prints one JSON line per attack. `--serve` is the child: fake upstream and roje, ports on stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hashToken } from '../../src/admin/auth.js';
import { BLOCK_PAGE_LIMITS } from '../../src/blockpage/limits.js';
import { adminClient } from '../../test/helpers/admin-client.js';
import { startFakeUpstream } from '../../test/helpers/fake-upstream.js';
import {
  type Attempt,
  attackOutcome,
  freshAddress,
  freshName,
  freshNameQueries,
  legitOutcome,
  slowHeadersAttack,
  visitPage,
} from '../../test/helpers/hostile.js';
import { startRoje, udpUrl } from '../../test/helpers/roje.js';

const TOKEN = 'roje_bench-hostile-token';
const NAMES = 2000;
const FD_LIMIT = 1024;

interface Served {
  dns: { host: string; port: number };
  page: { host: string; port: number };
  admin: string;
}

async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'roje-bench-hostile-'));
  writeFileSync(join(dir, 'adult.txt'), 'porn.example\n');
  const fake = await startFakeUpstream({ apexes: ['example.test'] });
  fake.behave('*', { delayMs: 20 });
  for (let i = 0; i < NAMES; i++) fake.zone.set(freshName(i), 'A', [{ data: freshAddress(i), ttl: 300 }]);
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      stateDir: join(dir, 'state'),
      lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
      blockPage: { ipv4: '127.0.0.1', listen: ['127.0.0.1:0'] },
      policies: { default: { block: 'all', blockMode: 'blockpage' } },
      admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(TOKEN) }] },
    },
    { logLevel: 'warn' },
  );
  const status = await adminClient(roje, TOKEN).get('/api/v1/status');
  const [page] = (status.json.blockPage as { listen: Served['page'][] }).listen;
  const served: Served = {
    dns: { host: roje.host, port: roje.port },
    page: page ?? { host: '127.0.0.1', port: 0 },
    admin: roje.app.opsAddresses().admin ?? '',
  };
  process.stdout.write(`${JSON.stringify(served)}\n`);
  const stop = async () => {
    await roje.stop();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  // Bounded: the child never outlives a forgotten parent by more than five minutes.
  setTimeout(() => void stop(), 300_000).unref();
}

async function startChild(): Promise<{ child: ChildProcess; served: Served }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(
    'prlimit',
    [
      `--nofile=${FD_LIMIT}:${FD_LIMIT}`,
      process.execPath,
      '--import',
      '@tapjs/typescript/import',
      script,
      '--serve',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`roje child exited ${code}`)));
  });
  return { child, served: JSON.parse(line) as Served };
}

async function run(
  served: Served,
  name: string,
  attackers: string[],
  firstName: number,
  seconds: number,
): Promise<Record<string, unknown>> {
  const api = adminClient(served.admin, TOKEN);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const attempts: Attempt[] = [];
  const dones: Promise<void>[] = [];
  const perAddress = Math.ceil(1010 / attackers.length);
  for (const from of attackers) {
    const a = slowHeadersAttack({
      target: served.page,
      from,
      sockets: perAddress,
      maxAttempts: 20_000,
      durationMs: seconds * 1000,
      host: 'porn.example',
    });
    dones.push(a.done.then(() => void attempts.push(...a.attempts)));
  }
  await new Promise((r) => setTimeout(r, 500));
  const visits: number[] = [];
  const visitMs: number[] = [];
  const states = new Set<string>();
  const queries = Math.floor(((seconds - 1) * 1000) / 40);
  const results = await freshNameQueries(
    served.dns,
    queries,
    25,
    async (i) => {
      if (i % 20 !== 0) return;
      const v = await visitPage(served.page, '127.0.0.2', 'porn.example');
      visits.push(v.status);
      visitMs.push(v.ms);
      const s = await api.get('/api/v1/status');
      for (const u of s.json.upstreams as Array<{ state: string }>) states.add(u.state);
    },
    firstName,
  );
  await Promise.all(dones);
  await new Promise((r) => setTimeout(r, 50));
  const dns = legitOutcome(results);
  return {
    attack: name,
    dns: `${dns.answered}/${dns.total}`,
    p50: dns.p50,
    p99: dns.p99,
    max: dns.max,
    visitorPages: `${visits.filter((s) => s === 403).length}/${visits.length}`,
    visitorMaxMs: Math.max(...visitMs),
    upstream: [...states].join(','),
    ...attackOutcome(attempts, BLOCK_PAGE_LIMITS.headersTimeoutMs),
    fdLimit: FD_LIMIT,
    loadBefore: load,
    loadAfter: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    date: new Date().toISOString(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { serve: { type: 'boolean' }, seconds: { type: 'string', default: '12' } },
  });
  if (values.serve) return serve();
  const seconds = Math.min(60, Math.max(6, Number(values.seconds)));
  const { child, served } = await startChild();
  try {
    console.log(
      JSON.stringify(await run(served, '1,010 half-sent, one address', ['127.0.0.66'], 0, seconds)),
    );
    const many = Array.from({ length: 20 }, (_, i) => `127.0.0.${100 + i}`);
    console.log(JSON.stringify(await run(served, '1,010 half-sent, 20 addresses', many, 1000, seconds)));
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
