import type { Logger } from 'pino';
import { keepReply } from '../dns/bytes.js';
import type { ExtendedError } from '../dns/constants.js';
import { EDE, MAX_MESSAGE, RCODE } from '../dns/constants.js';
import { answerError, errorResponse, isRejection, readQueryInto, WireQuery } from '../dns/query.js';
import { fitResponse, udpLimit } from '../dns/render.js';
import { isRojeError } from '../errors.js';
import type { Responder } from '../transport/types.js';
import type { Answer, ClientInfo, Handler, Query } from './types.js';

export interface ResponderOptions {
  /** Read per message, so a reload can swap the chain without touching the listeners. */
  current: () => { handler: Handler; udpSize: number };
  logger: Logger;
  /** Called once per answered query (metrics, per-query logs). Must not throw. */
  onAnswer?: (query: Query, answer: Answer) => void;
}

const NO_CLIENT: ClientInfo = Object.freeze({ address: '', port: 0, transport: 'udp' });

/** A query as the responder hands it to the chain; one is reused for every synchronous answer. */
class ChainQuery extends WireQuery implements Query {
  client: ClientInfo = NO_CLIENT;
  maxSize = 0;
  receivedAt = 0;
  venue = -1;
  udpSize = 0;
}

const INTERNAL_EDE: readonly ExtendedError[] = [{ code: EDE.OTHER, text: 'internal error' }];

/**
 * The bridge between transports and the chain: bytes in -> Query -> handler -> bytes out.
 * Unreadable messages are dropped, malformed ones get FORMERR, and whatever the chain throws becomes a
 * SERVFAIL with an Extended DNS Error: a query never goes unanswered because of a bug or a failure.
 */
export function createResponder(options: ResponderOptions): Responder {
  const { current, logger, onAnswer } = options;
  // The query object of the next message. A chain that answers synchronously is done with it when it
  // returns (pipeline/types.ts, Handler), so it is refilled for the next message; one that goes async
  // keeps it, and the next message gets a new one. `busy`: a stage that asked this responder again
  // from inside the chain would get an object of its own (none does; the guard costs one test).
  let spare = new ChainQuery();
  let busy = false;

  return (msg: Buffer, client: ClientInfo) => {
    const { handler, udpSize } = current();
    const query = busy ? new ChainQuery() : spare;
    const parsed = readQueryInto(msg, query);
    if (isRejection(parsed)) {
      return parsed.rcode === null ? null : errorResponse(msg, parsed.rcode, { udpSize });
    }
    query.client = client;
    query.maxSize = client.transport === 'udp' ? udpLimit(query, udpSize) : MAX_MESSAGE;
    query.receivedAt = performance.now();
    query.venue = -1;
    query.udpSize = udpSize;

    let pending: Answer | Promise<Answer>;
    const outer = busy;
    busy = true;
    try {
      pending = handler(query);
    } catch (err) {
      busy = outer;
      return finish(query, failed(query, err, udpSize));
    }
    busy = outer;
    if (pending instanceof Promise) {
      if (query === spare) spare = new ChainQuery();
      return settle(pending, query, udpSize);
    }
    const out = finish(query, pending);
    // A caller that may keep its answer (the self-test awaits it): the chain must not write it again.
    if (out !== null && client.sendsAtOnce !== true) keepReply(out);
    return out;
  };

  // Apart from the responder: closures there would make V8 allocate a context on every call, sync ones too.
  function settle(pending: Promise<Answer>, query: Query, udpSize: number): Promise<Buffer | null> {
    return pending.then(
      (answer) => finish(query, answer),
      (err: unknown) => finish(query, failed(query, err, udpSize)),
    );
  }

  function finish(query: Query, answer: Answer): Buffer | null {
    if (onAnswer !== undefined) onAnswer(query, answer);
    if (answer.drop === true) return null;
    return fitResponse(answer.wire, query, query.maxSize);
  }

  function failed(query: Query, err: unknown, udpSize: number): Answer {
    let ede: readonly ExtendedError[] = INTERNAL_EDE;
    if (isRojeError(err) && 'ede' in err && err.ede !== undefined) {
      ede = Array.isArray(err.ede) ? err.ede : [err.ede as ExtendedError];
    } else if (isRojeError(err)) {
      // A known failure without its own EDE (e.g. an upstream answer that cannot be walked).
      logger.warn({ code: err.code, reason: err.message, qtype: query.qtype }, 'query failed');
    } else {
      // Anything else is a bug: say so loudly, answer SERVFAIL all the same.
      logger.error({ err, qtype: query.qtype }, 'query failed unexpectedly');
    }
    return {
      wire: answerError(query, RCODE.SERVFAIL, { ede, udpSize }),
      source: 'error',
      rcode: RCODE.SERVFAIL,
    };
  }
}
