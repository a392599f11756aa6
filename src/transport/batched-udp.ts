import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { HEADER_SIZE } from '../dns/constants.js';
import type { ClientInfo } from '../pipeline/types.js';
import type { ResolvedHost } from './address.js';
import type { BoundAddress, Responder } from './types.js';
import { type UdpFlight, udpFlight } from './udp-flight.js';

/**
 * The native half (src/native/batched-udp.c): a socket read with recvmmsg and written with sendmmsg,
 * sharing its buffers with this file. Built by `npm ci` (node-gyp) on Linux; elsewhere, or where the
 * build failed, batchedUdp() is null and the listener uses dgram.
 */
interface BatchedUdpNative {
  readonly maxBatch: number;
  readonly addressSize: number;
  open(
    family: 4 | 6,
    ip: string,
    port: number,
    reusePort: number,
    ipv6Only: number,
    recvBuffer: number,
    sendBuffer: number,
    rx: Buffer,
    rxLen: Buffer,
    rxAddr: Buffer,
    tx: Buffer,
    txMeta: Buffer,
    onBatch: (count: number) => void,
  ): NativeHandle;
  flush(handle: NativeHandle, count: number): number;
  sendTo(handle: NativeHandle, answer: Buffer, address: Buffer): boolean;
  ntop(handle: NativeHandle, index: number): string;
  close(handle: NativeHandle): void;
}

interface NativeHandle {
  readonly port: number;
}

/** Relative to this module: src/transport -> src/native, and dist/transport -> dist/native (npm run build copies it). */
const ADDON = '../native/build/Release/batched_udp.node';

let native: BatchedUdpNative | null | undefined;
let loadError: unknown;

/** The native module, or null where it is not built (not Linux, no compiler at install). Loaded once. */
export function batchedUdp(): BatchedUdpNative | null {
  if (native === undefined) {
    try {
      native = createRequire(import.meta.url)(ADDON) as BatchedUdpNative;
    } catch (err) {
      native = null;
      loadError = err;
    }
  }
  return native;
}

/** Why batchedUdp() is null, for the one log line that says the listener fell back to dgram. */
export function batchedUdpLoadError(): unknown {
  return loadError;
}

/** Datagrams taken per recvmmsg; a full batch is read again before the loop gets a turn (up to 8 times). */
const BATCH = 64;
/**
 * Answers sent per sendmmsg at most: a batch's first answer does not wait for the whole batch (64 cache
 * hits are ~0.5 ms of work on one core), and three more system calls per full batch cost little.
 */
const FLUSH_EVERY = 16;
/** Slots hold any datagram (65,507 bytes at most): only the bytes that arrive are ever touched. */
const SLOT = 65536;
/** IPv4 sender addresses as text, by their 32 bits: the string dgram would have made, made once. */
const MAX_REMEMBERED_V4 = 65536;

export interface BatchedUdpSettings {
  reusePort: boolean;
  recvBufferSize: number;
  sendBufferSize: number;
  drainTimeoutMs: number;
}

export interface BatchedUdpSocket {
  readonly bound: BoundAddress;
  readonly flight: UdpFlight<Buffer>;
}

/**
 * A UDP DNS listener on the native module: each readable event hands up to 64 datagrams to the responder
 * in one call; synchronous answers are copied into the send slots and leave together, asynchronous ones
 * (cache misses) leave one by one as they settle. Throws as bind(2) does (err.code EADDRINUSE, ...).
 */
export function openBatchedUdp(
  addon: BatchedUdpNative,
  host: ResolvedHost,
  port: number,
  responder: Responder,
  settings: BatchedUdpSettings,
  log: Logger,
): BatchedUdpSocket {
  const addressSize = addon.addressSize;
  // allocUnsafeSlow: 8 MiB of address space, of which only the pages datagrams reach become resident.
  const rx = Buffer.allocUnsafeSlow(BATCH * SLOT);
  const tx = Buffer.allocUnsafeSlow(BATCH * SLOT);
  const rxLenBytes = Buffer.alloc(BATCH * 4);
  const txMetaBytes = Buffer.alloc(BATCH * 8);
  const rxAddr = Buffer.alloc(BATCH * addressSize);
  const rxLen = new Int32Array(rxLenBytes.buffer, rxLenBytes.byteOffset, BATCH);
  const txMeta = new Int32Array(txMetaBytes.buffer, txMetaBytes.byteOffset, 2 * BATCH);
  const v4Text = new Map<number, string>();

  const flight = udpFlight(log, settings.drainTimeoutMs, () => addon.close(handle), sendLater);
  const counters = flight.counters;
  // One client object for every synchronous answer; an asynchronous one keeps its own (see udp.ts).
  let client = newClient();

  const handle = addon.open(
    host.family,
    host.ip,
    port,
    settings.reusePort ? 1 : 0,
    host.ipv6Only ? 1 : 0,
    settings.recvBufferSize,
    settings.sendBufferSize,
    rx,
    rxLenBytes,
    rxAddr,
    tx,
    txMetaBytes,
    onBatch,
  );

  function onBatch(count: number): void {
    let answers = 0;
    for (let i = 0; i < count; i++) {
      counters.messages++;
      const length = rxLen[i]!;
      if (flight.closing || length < HEADER_SIZE) {
        counters.dropped++;
        continue;
      }
      // The chain may keep the message past this call (a cache miss awaits its upstream), and the slot
      // is read into again on the next batch: each message gets its own bytes, as dgram gives them.
      const msg = Buffer.allocUnsafe(length);
      rx.copy(msg, 0, i * SLOT, i * SLOT + length);
      const c = client;
      setSender(c, i);
      let out: ReturnType<Responder>;
      try {
        out = responder(msg, c);
      } catch (err) {
        flight.failed(err, c);
        continue;
      }
      if (out === null) {
        counters.dropped++;
      } else if (out instanceof Uint8Array) {
        // Copied now, so a reply buffer the chain lent may be written again by the next message.
        tx.set(out, answers * SLOT);
        txMeta[2 * answers] = out.length;
        txMeta[2 * answers + 1] = i;
        answers++;
        if (answers === FLUSH_EVERY) {
          flush(answers);
          answers = 0;
        }
      } else {
        client = newClient();
        const at = i * addressSize;
        flight.later(out, Buffer.from(rxAddr.subarray(at, at + addressSize)), c);
      }
    }
    if (answers > 0) flush(answers);
  }

  /** Sends the answers in slots 0..count), whose senders' addresses are still those of this batch. */
  function flush(count: number): void {
    const sent = addon.flush(handle, count);
    counters.responses += sent;
    counters.dropped += count - sent;
  }

  function sendLater(answer: Buffer, address: Buffer): boolean {
    return addon.sendTo(handle, answer, address);
  }

  /** The sender of datagram `i`, read from its sockaddr (family in host order, port in network order). */
  function setSender(c: ClientInfo, i: number): void {
    const at = i * addressSize;
    c.port = (rxAddr[at + 2]! << 8) | rxAddr[at + 3]!;
    if (host.family === 4) {
      c.address = v4At(at + 4);
    } else if (isV4Mapped(rxAddr, at + 8)) {
      // A v4 client of a dual-stack socket: the plain IPv4 form, as unwrapMapped gives it.
      c.address = v4At(at + 20);
    } else {
      c.address = addon.ntop(handle, i);
    }
  }

  function v4At(at: number): string {
    const bits =
      ((rxAddr[at]! << 24) | (rxAddr[at + 1]! << 16) | (rxAddr[at + 2]! << 8) | rxAddr[at + 3]!) >>> 0;
    let text = v4Text.get(bits);
    if (text === undefined) {
      // A hotspot has a few hundred clients; a spoofing flood must not grow this without bound.
      if (v4Text.size >= MAX_REMEMBERED_V4) v4Text.clear();
      text = `${rxAddr[at]}.${rxAddr[at + 1]}.${rxAddr[at + 2]}.${rxAddr[at + 3]}`;
      v4Text.set(bits, text);
    }
    return text;
  }

  const family = host.family === 6 ? 'IPv6' : 'IPv4';
  return { bound: { host: host.ip, port: handle.port, family }, flight };
}

function isV4Mapped(bytes: Buffer, at: number): boolean {
  for (let k = 0; k < 10; k++) if (bytes[at + k] !== 0) return false;
  return bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
}

function newClient(): ClientInfo {
  return { address: '', port: 0, transport: 'udp', sendsAtOnce: true };
}
