import type { Logger } from 'pino';
import type { ExtendedError } from '../dns/constants.js';
import { EDE, MAX_MESSAGE, RCODE } from '../dns/constants.js';
import { answerError, errorResponse, readQuery } from '../dns/query.js';
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

const INTERNAL_EDE: readonly ExtendedError[] = [{ code: EDE.OTHER, text: 'internal error' }];

/**
 * The bridge between transports and the chain: bytes in -> Query -> handler -> bytes out.
 * Unreadable messages are dropped, malformed ones get FORMERR, and whatever the chain throws becomes a
 * SERVFAIL with an Extended DNS Error: a query never goes unanswered because of a bug or a failure.
 */
export function createResponder(options: ResponderOptions): Responder {
  const { current, logger, onAnswer } = options;

  return (msg: Buffer, client: ClientInfo) => {
    const { handler, udpSize } = current();
    const parsed = readQuery(msg);
    if ('rcode' in parsed) {
      return parsed.rcode === null ? null : errorResponse(msg, parsed.rcode, { udpSize });
    }
    const query = parsed as Query;
    query.client = client;
    query.maxSize = client.transport === 'udp' ? udpLimit(parsed, udpSize) : MAX_MESSAGE;
    query.receivedAt = performance.now();

    let pending: Answer | Promise<Answer>;
    try {
      pending = handler(query);
    } catch (err) {
      return finish(query, failed(query, err, udpSize));
    }
    if (pending instanceof Promise) {
      return pending.then(
        (answer) => finish(query, answer),
        (err: unknown) => finish(query, failed(query, err, udpSize)),
      );
    }
    return finish(query, pending);
  };

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
