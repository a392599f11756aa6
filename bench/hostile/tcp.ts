/**
 * Issue #18, TCP slots: the slowloris of test/hostile/tcp.test.ts against roje and, as the reference,
 * unbound, each a separate process forwarding to the same loopback unbound upstream. For each attack a
 * legitimate client at 127.0.0.2 asks over TCP and UDP in turn; we report its success rate (a correct
 * answer within 1 s) and latency, and what became of the attacking connections.
 *
 *   npm run build && node --import @tapjs/typescript/import bench/hostile/tcp.ts [--seconds 10] [--connections 1000]
 *
 * Loopback only, bounded: at most 2,000 attacking sockets, --seconds of legitimate queries per attack.
 * Both servers serve 127.0.0.0/24 (roje acl.allow, unbound access-control); attack A comes from 127.0.1.1,
 * outside it, attack B from 127.0.0.9, inside it, attack C from 127.0.0.100-199 (10 connections each).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLegitClient, type SlowlorisOptions, startSlowloris } from '../../test/helpers/tcp-attack.js';
import { createRunGroup, findFreePort, rojeServeArgs, runIfMain, waitForDns } from '../load/processes.js';
import { checkConfig, writeForwarderConfig, writeUpstreamConfig } from '../load/unbound.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const READY_MS = 20_000;

interface Attack {
  name: string;
  options: SlowlorisOptions;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function main(): Promise<void> {
  const seconds = Math.min(60, arg('seconds', 10));
  const connections = Math.min(2000, arg('connections', 1000));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const group = createRunGroup(log);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-hostile-tcp-'));
  const attacks: Attack[] = [
    { name: 'A: outside acl.allow', options: { sources: ['127.0.1.1'], connections, byteEveryMs: 4000 } },
    { name: 'B: one allowed address', options: { sources: ['127.0.0.9'], connections, byteEveryMs: 4000 } },
    // Not one device: 100 allowed addresses, 10 connections each (under the per-client cap), filling every
    // slot of tcp.maxConnections (1000): the deadlines, cut short under pressure, are all that frees them.
    {
      name: 'C: 100 allowed addresses',
      options: {
        sources: Array.from({ length: 100 }, (_, i) => `127.0.0.${100 + i}`),
        connections,
        byteEveryMs: 4000,
      },
    },
  ];
  const rows: string[] = [];
  try {
    const upstreamPort = await findFreePort(HOST);
    const upstreamConf = await writeUpstreamConfig(dir, {
      port: upstreamPort,
      controlPort: await findFreePort(HOST),
    });
    const upstream = group.spawn('upstream', 'unbound', ['-d', '-c', upstreamConf], { cwd: dir });
    await waitForDns(HOST, upstreamPort, READY_MS, upstream.exited);

    for (const server of ['roje', 'unbound'] as const) {
      const port = await findFreePort(HOST);
      let proc: ReturnType<typeof group.spawn>;
      if (server === 'roje') {
        const conf = path.join(dir, 'roje.yaml');
        await writeFile(conf, 'log:\n  level: warn\nacl:\n  allow: [127.0.0.0/24]\n');
        proc = group.spawn(
          'roje',
          process.execPath,
          rojeServeArgs('dist/main.js', HOST, port, upstreamPort, conf),
          {
            cwd: REPO,
          },
        );
      } else {
        const conf = await writeForwarderConfig(dir, { port, upstreamPort });
        // The same served network as roje's acl.allow: 127.0.1.x falls to "0.0.0.0/0 refuse".
        const text = await readFile(conf, 'utf8');
        await writeFile(
          conf,
          text.replace('access-control: 127.0.0.0/8 allow', 'access-control: 127.0.0.0/24 allow'),
        );
        await checkConfig(conf);
        proc = group.spawn('unbound', 'unbound', ['-d', '-c', conf], { cwd: dir });
      }
      await waitForDns(HOST, port, READY_MS, proc.exited);
      for (const attack of attacks) {
        const slowloris = startSlowloris({ host: HOST, port }, attack.options);
        const legit = await runLegitClient(
          { host: HOST, port },
          {
            source: '127.0.0.2',
            name: 'legit.bench.example',
            expect: '192.0.2.1',
            durationMs: seconds * 1000,
            maxQueries: seconds * 50,
            intervalMs: 20,
          },
        );
        await slowloris.opened;
        const a = slowloris.stop();
        const [tcpSent, tcpOk] = legit.byTransport.tcp ?? [0, 0];
        const [udpSent, udpOk] = legit.byTransport.udp ?? [0, 0];
        const row = `| ${server} | ${attack.name} | ${(legit.rate * 100).toFixed(1)} % (${legit.ok}/${legit.sent}; TCP ${tcpOk}/${tcpSent}, UDP ${udpOk}/${udpSent}) | ${legit.p50Ms.toFixed(1)} / ${legit.p99Ms.toFixed(1)} / ${legit.maxMs.toFixed(0)} ms | ${a.connected} connected, ${a.closedByServer} closed by the server (median ${a.closeMsMedian} ms, slowest ${a.closeMsMax} ms), ${a.openAtStop} still open after ${seconds} s |`;
        rows.push(row);
        log(row);
        if (legit.failures.length > 0) log(`  first failures: ${legit.failures.join('; ')}`);
        // Let the server settle before the next attack.
        await new Promise((r) => setTimeout(r, 1000));
      }
      await proc.stop();
    }
  } finally {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
  process.stdout.write(
    [
      `TCP slowloris, ${connections} connections, one byte every 4 s; legitimate client 127.0.0.2, TCP and UDP in turn, ${seconds} s per attack. ${new Date().toISOString()}, load average ${load}, ${os.cpus().length} cores.`,
      '',
      '| server | attack | legitimate client: correct within 1 s | latency p50 / p99 / max | attacking connections |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

runIfMain(import.meta.url, main, (m) => process.stderr.write(`${m}\n`));
