import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { MAX_MESSAGE } from '../dns/constants.js';
import type { ClientInfo } from '../pipeline/types.js';
import { FrameReader } from './frame-reader.js';
import type { Responder } from './types.js';

/** What a connection shares with its listener. */
export interface ConnectionContext {
  responder: Responder;
  log: Logger;
  maxInFlight: number;
  /** How long a new connection has to deliver its first complete message. */
  firstQueryTimeoutMs: number;
  /** How long after its last message (or answer) a connection has to deliver the next complete one. */
  idleTimeoutMs: number;
  /** Set by the listener while most of its slots are taken: every deadline is cut short. */
  underPressure: boolean;
  counters: { messages: number; responses: number; dropped: number; errors: number };
}

/** Under pressure a deadline shrinks to this fraction of itself (unbound shrinks its TCP idle time too)... */
const PRESSURE_DIVISOR = 10;
/** ...but never below this: a real client on a slow WiFi still gets its query in. */
const PRESSURE_FLOOR_MS = 250;

function deadlineMs(ctx: ConnectionContext, ms: number): number {
  return ctx.underPressure ? Math.max(PRESSURE_FLOOR_MS, Math.floor(ms / PRESSURE_DIVISOR)) : ms;
}

/**
 * One RFC 7766 connection: messages are handed to the responder as they arrive (pipelining) and each
 * answer is written as soon as it is ready, in whatever order they complete. Reading pauses while
 * maxInFlight answers are pending or while the socket's write buffer is full, so a client that sends
 * fast or reads slowly cannot make us hold unbounded work.
 */
export class TcpConnection {
  private readonly reader = new FrameReader();
  /** Shared by every message of the connection: the responder only reads it. */
  private readonly client: ClientInfo;
  private inFlight = 0;
  private readPaused = false;
  private waitingDrain = false;
  /** No new messages are taken; the connection ends once its pending answers are written. */
  private closing = false;
  private ended = false;
  /**
   * The connection's one deadline: for its first complete message, then for each next one. Bytes alone
   * never move it (a peer dribbling one byte every few seconds must not hold a slot forever); a complete
   * message or the last pending answer does. Kept as a time, so that moving it costs no timer call.
   */
  private deadlineAt: number;
  private timer: NodeJS.Timeout | null = null;
  /** A complete message has come: the idle deadline applies from now on, not the first-query one. */
  private answered = false;

  constructor(
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    address: string,
  ) {
    // write() copies each synchronous answer into its framed buffer at once: the chain may lend it.
    this.client = { address, port: socket.remotePort ?? 0, transport: 'tcp', sendsAtOnce: true };
    const first = deadlineMs(ctx, ctx.firstQueryTimeoutMs);
    this.deadlineAt = Date.now() + first;
    this.arm(first);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('close', () => this.disarm());
    // The client half-closed: it sends no more, but answers to what it sent are still owed.
    socket.on('end', () => this.close());
    socket.on('error', (err) => ctx.log.debug({ err, client: address }, 'tcp connection error'));
  }

  /** Stops taking messages; ends the connection once pending answers are written. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.reader.clear();
    // Keep reading (and discarding) so the peer's FIN is seen and the socket can close fully.
    if (this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    if (this.inFlight === 0) this.end();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.reader.push(chunk);
    this.pump();
  }

  /** Hands buffered messages to the responder until the data runs out or a limit is reached. */
  private pump(): void {
    if (this.socket.destroyed) return;
    const reader = this.reader;
    let handled = false;
    while (this.inFlight < this.ctx.maxInFlight && !this.waitingDrain && !this.closing) {
      const frame = reader.next();
      if (frame === null) break;
      handled = true;
      this.handle(frame);
    }
    if (handled) {
      this.answered = true;
      this.deadlineAt = Date.now() + deadlineMs(this.ctx, this.ctx.idleTimeoutMs);
    }
    if (reader.invalid) {
      // A frame too short to hold a DNS header: the peer is not speaking DNS, or lost sync.
      this.closing = true;
      this.ctx.counters.dropped++;
      this.ctx.log.debug({ client: this.client.address }, 'tcp frame shorter than a DNS header; closing');
      this.socket.destroy();
      return;
    }
    this.updateFlow();
  }

  private handle(frame: Buffer): void {
    const counters = this.ctx.counters;
    counters.messages++;
    let out: ReturnType<Responder>;
    try {
      out = this.ctx.responder(frame, this.client);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (out === null) {
      counters.dropped++;
    } else if (out instanceof Uint8Array) {
      this.write(out);
    } else {
      this.inFlight++;
      out.then(
        (answer) => this.settle(answer),
        (err: unknown) => {
          this.failed(err);
          this.settle(null, true);
        },
      );
    }
  }

  private settle(answer: Buffer | null, failed = false): void {
    this.inFlight--;
    if (answer !== null) this.write(answer);
    else if (!failed) this.ctx.counters.dropped++;

    if (this.inFlight > 0) {
      if (this.readPaused && !this.closing) this.pump();
      return;
    }
    if (this.closing) {
      this.end();
      return;
    }
    // The client's next message is due an idle period after its last answer, not after its question.
    this.deadlineAt = Date.now() + deadlineMs(this.ctx, this.ctx.idleTimeoutMs);
    if (this.timer === null) this.arm(this.deadlineAt - Date.now());
    if (this.readPaused) this.pump();
  }

  private write(answer: Buffer): void {
    const counters = this.ctx.counters;
    const length = answer.length;
    if (length > MAX_MESSAGE) {
      counters.dropped++;
      this.ctx.log.error({ size: length }, 'answer longer than a TCP frame can carry; dropped');
      return;
    }
    const socket = this.socket;
    if (this.ended || socket.destroyed) {
      counters.dropped++;
      return;
    }
    // One buffer with its length prefix: one write request, no corking, for messages this small.
    const framed = Buffer.allocUnsafe(length + 2);
    framed[0] = length >>> 8;
    framed[1] = length & 0xff;
    framed.set(answer, 2);
    counters.responses++;
    if (!socket.write(framed) && !this.waitingDrain) {
      this.waitingDrain = true;
      this.updateFlow();
    }
  }

  private onDrain(): void {
    this.waitingDrain = false;
    if (!this.closing) this.pump();
  }

  /**
   * The listener came under pressure: a deadline set before is cut to what it would be now, so that the
   * slots taken before the flood was noticed are freed as fast as the ones taken after.
   */
  tighten(): void {
    if (this.socket.destroyed || this.inFlight > 0) return;
    const base = this.answered ? this.ctx.idleTimeoutMs : this.ctx.firstQueryTimeoutMs;
    const due = Date.now() + deadlineMs(this.ctx, base);
    if (due >= this.deadlineAt) return;
    this.deadlineAt = due;
    this.disarm();
    this.arm(due - Date.now());
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.onDeadline(), Math.max(1, ms));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onDeadline(): void {
    this.timer = null;
    if (this.socket.destroyed) return;
    const left = this.deadlineAt - Date.now();
    if (left > 0) {
      this.arm(left);
    } else if (this.ended) {
      // We said goodbye a deadline ago and the peer never closed its side.
      this.socket.destroy();
    } else if (this.inFlight > 0) {
      // Our own answers are late, not the client: settle() moves the deadline and re-arms.
    } else {
      this.ctx.log.debug(
        { client: this.client.address },
        'tcp connection missed its query deadline; closing',
      );
      // A peer that missed its deadline gets no grace: its slot is what we need back.
      this.closing = true;
      this.reader.clear();
      this.socket.destroy();
    }
  }

  /** Pauses reading while a limit holds, resumes when none does. */
  private updateFlow(): void {
    const blocked =
      this.waitingDrain || this.inFlight >= this.ctx.maxInFlight || (this.reader.buffered && !this.closing);
    if (blocked && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    } else if (!blocked && this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    // A peer that never closes its side is cut off a deadline later.
    this.deadlineAt = Date.now() + deadlineMs(this.ctx, this.ctx.idleTimeoutMs);
    if (this.timer === null && !this.socket.destroyed) this.arm(this.deadlineAt - Date.now());
  }

  private failed(err: unknown): void {
    this.ctx.counters.errors++;
    this.ctx.counters.dropped++;
    this.ctx.log.error({ err, client: this.client.address }, 'responder failed; message dropped');
  }
}
