import type { Logger } from 'pino';
import type { ClientInfo } from '../pipeline/types.js';
import type { ListenerStats } from './types.js';

/**
 * What the two UDP listeners (dgram, udp.ts; batched, batched-udp.ts) share: their counters, the answers
 * still being computed (cache misses), and a close that lets those go out before the socket closes.
 */
export interface UdpFlight<To> {
  readonly counters: Pick<ListenerStats, 'messages' | 'responses' | 'dropped' | 'errors'>;
  /** True once close() began: new messages are dropped. */
  readonly closing: boolean;
  /** Sends `out`'s answer to `to` when it settles, if the socket is still open. */
  later(out: Promise<Buffer | null>, to: To, client: ClientInfo): void;
  /** A responder throw or rejection (a bug): counted and logged, the message dropped. */
  failed(err: unknown, client: ClientInfo): void;
  setDrainTimeout(ms: number): void;
  /** Stops taking messages, waits for in-flight answers (bounded by the drain timeout), closes the socket. */
  close(): Promise<void>;
}

/**
 * `send` hands one answer to the kernel and says whether it took it; `closeSocket` releases the socket.
 * Both belong to the listener; `send` is called with the `to` that later() was given (dgram's `rinfo`, or
 * the batched socket's copy of a sender's address).
 */
export function udpFlight<To>(
  log: Logger,
  drainTimeoutMs: number,
  closeSocket: () => unknown,
  send: (answer: Buffer, to: To) => boolean,
): UdpFlight<To> {
  const counters = { messages: 0, responses: 0, dropped: 0, errors: 0 };
  let inFlight = 0;
  let closing = false;
  let socketClosed = false;
  let drained: (() => void) | null = null;
  let closed: Promise<void> | null = null;

  function settled(): void {
    inFlight--;
    if (inFlight === 0 && drained !== null) drained();
  }

  function failed(err: unknown, client: ClientInfo): void {
    counters.errors++;
    counters.dropped++;
    log.error({ err, client: client.address }, 'responder failed; message dropped');
  }

  function deliver(answer: Buffer | null, to: To): void {
    if (answer === null || socketClosed) counters.dropped++;
    else if (send(answer, to)) counters.responses++;
    else counters.dropped++;
  }

  async function drainAndClose(): Promise<void> {
    closing = true;
    if (inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, drainTimeoutMs);
      });
      clearTimeout(timer);
      if (inFlight > 0) log.warn({ inFlight }, 'closing with answers still in flight');
    }
    socketClosed = true;
    await closeSocket();
  }

  return {
    counters,
    get closing() {
      return closing;
    },
    // Apart from the listeners' per-datagram functions: a closure there would make V8 allocate a
    // context for every datagram.
    later(out, to, client): void {
      inFlight++;
      out.then(
        (answer) => {
          settled();
          deliver(answer, to);
        },
        (err: unknown) => {
          settled();
          failed(err, client);
        },
      );
    },
    failed,
    setDrainTimeout(ms: number): void {
      drainTimeoutMs = ms;
    },
    close(): Promise<void> {
      closed ??= drainAndClose();
      return closed;
    },
  };
}
