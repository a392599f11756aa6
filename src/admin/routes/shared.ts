/**
 * What every route plugin shares: the role a route needs (checked by server.ts's onRequest hook), the
 * schemas more than one plugin uses, the error body, and the audit wrapper of changes.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '../../config/json-schema.js';
import type { AuditLog } from '../audit.js';
import type { Principal, Role } from '../auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role a route needs; absent: open (health, readiness, the OpenAPI document, the console's shell and assets). */
    role?: Role;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** What a route plugin is registered with: its own slice of the API, and the audit log for changes. */
export interface RoutesOptions<Api> {
  api: Api;
  audit: AuditLog;
}

/** `error`: the status in words ("not_found"); `code`: the ROJE_ERR_* code when roje named the failure. */
export const ErrorBody = Type.Object({
  error: Type.String(),
  code: Type.Optional(Type.String()),
  message: Type.String(),
});
export const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });
/** ISO 8601 UTC date or hour: "2026-11-01" or "2026-11-01T13:00:00Z". */
export const Instant = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}(:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?)?Z)?$',
});
export const AnyJson = Type.Unknown();

/** Route options of a route without a token. */
export const open = { config: {} };
/** Route options of a route that needs `role` or more. */
export const as = (role: Role) => ({ config: { role } });
export const responses = (ok: TSchema = AnyJson) => ({ 200: ok, '4xx': ErrorBody });

/** Runs a change, writing the audit entry (ok or failed) before the answer goes out. */
export async function audited<T>(
  audit: AuditLog,
  req: FastifyRequest,
  target: string | undefined,
  change: () => Promise<T> | T,
): Promise<T> {
  const who = req.principal as Principal;
  try {
    const result = await change();
    audit.record({ who: who.name, role: who.role, action: routeAction(req), target, result: 'ok' });
    return result;
  } catch (err) {
    audit.record({
      who: who.name,
      role: who.role,
      action: routeAction(req),
      target,
      result: 'failed',
      detail: (err as Error).message,
    });
    throw err;
  }
}

/** The audit log's action: method and route pattern, e.g. "POST /api/v1/lists/:name/accept". */
export function routeAction(req: FastifyRequest): string {
  const url = req.routeOptions.url ?? req.url.split('?')[0];
  return `${req.method} ${url}`;
}

/** Answers `status` with the error body: `{ error: <name of the status>, message }`. */
export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ error: errorName(status), message });
}

export function errorName(status: number): string {
  if (status === 400) return 'bad_request';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'too_many_requests';
  if (status === 502) return 'list_failed';
  if (status === 503) return 'unavailable';
  return 'error';
}
