/**
 * The three servers of a conformance run: Knot (authoritative), unbound (the reference) and roje, both
 * resolvers forwarding to that Knot and to nothing else. roje is the built binary (dist/, as an operator
 * runs it) with a tiny test list, an ACL and rate-limit exemption for loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryProblem, spawnRoje } from '../process.js';
import type { Server } from './client.js';
import { type Knot, startKnot } from './knot.js';
import { startUnbound, type Unbound, waitForSerial } from './unbound.js';
import { BLOCKED_NAME } from './zones.js';

export interface Peers {
  knot: Knot;
  unbound: Unbound;
  roje: Server;
  /** performance.now() before the first server started: no cache holds anything older. */
  startedAt: number;
  stop(): Promise<void>;
}

export async function startPeers(): Promise<Peers> {
  const problem = binaryProblem();
  if (problem !== null) throw new Error(problem);
  const startedAt = performance.now();
  const knot = await startKnot();
  const stops: Array<() => Promise<void>> = [() => knot.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const unbound = await startUnbound(knot);
    stops.push(() => unbound.stop());
    const dir = mkdtempSync(join(tmpdir(), 'roje-conf-roje-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'test-list.txt'), `${BLOCKED_NAME}\n`);
    writeFileSync(
      join(dir, 'roje.yaml'),
      JSON.stringify({
        listen: ['127.0.0.1:0'],
        upstreams: [`udp://${knot.host}:${knot.port}`],
        acl: { allow: ['127.0.0.0/8'] },
        rateLimit: { exempt: ['127.0.0.0/8'] },
        lists: [{ category: 'adult', path: join(dir, 'test-list.txt'), name: 'conformance' }],
        stateDir: join(dir, 'state'),
        selfTest: { enabled: false },
      }),
    );
    const proc = spawnRoje(['serve', '--config', join(dir, 'roje.yaml')], { cwd: dir });
    stops.push(async () => {
      proc.kill('SIGKILL');
      await proc.exit;
    });
    const { addresses } = await proc.ready(30_000);
    const roje = { host: addresses[0].host, port: addresses[0].port };
    await waitForSerial(null, roje, knot.serial, 'roje');
    return { knot, unbound, roje, startedAt, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
