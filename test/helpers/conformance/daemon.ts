/**
 * A foreground daemon (knotd, unbound -d) for the conformance suite: its output collected for error
 * messages, SIGKILLed at the latest when this process exits, so a failed run leaves nothing behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Daemon {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Null while running. */
  exited(): { code: number | null; signal: string | null } | null;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function startDaemon(command: string, args: readonly string[]): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let text = '';
  let status: { code: number | null; signal: string | null } | null = null;
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      text += `\n${command}: ${err.message}`;
      status = { code: null, signal: null };
      live.delete(child);
      resolve();
    });
  });
  return {
    child,
    output: () => text,
    exited: () => status,
    stop: async () => {
      if (status !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** A port that was free a moment ago for both UDP and TCP on 127.0.0.1 (the caller retries on a clash). */
export async function candidatePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const { createSocket } = await import('node:dgram');
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (ok) return port;
  }
}
