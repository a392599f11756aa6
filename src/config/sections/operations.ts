/** `log`, `shutdown` and `stateDir`: running roje as a service. */
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { durationWithin } from '../config-error.js';
import { Type } from '../json-schema.js';
import { duration, MINUTE, type SectionContext, section } from './common.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LogSchema = section(
  {
    level: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { default: 'info', 'x-expected': `one of ${LOG_LEVELS.join(', ')}` },
    ),
    queries: Type.Boolean({ default: false, description: 'one log line per query: off for privacy' }),
  },
  'logging',
);

export type LogConfig = Static<typeof LogSchema>;

export function normalizeLog(raw: LogConfig): LogConfig {
  return { level: raw.level, queries: raw.queries };
}

export const ShutdownSchema = section(
  { drainTimeout: duration('5s', 'how long in-flight queries may finish after SIGTERM') },
  'graceful shutdown',
);

export type ShutdownConfig = ReturnType<typeof normalizeShutdown>;

export function normalizeShutdown(ctx: SectionContext, raw: Static<typeof ShutdownSchema>) {
  return {
    drainTimeoutMs: durationWithin(ctx.file, 'shutdown.drainTimeout', raw.drainTimeout, 0, 10 * MINUTE),
  };
}

export const StateDirSchema = Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
  default: null,
  description: 'where roje keeps its state (downloaded lists, statistics, audit log); null: memory only',
  'x-expected': 'a directory path, or null',
});

/** Absolute path of the state directory, or null (state kept in memory only). */
export function normalizeStateDir(ctx: SectionContext, raw: Static<typeof StateDirSchema>): string | null {
  return raw === null ? null : resolve(ctx.baseDir, raw);
}
