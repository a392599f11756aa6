/**
 * A config reload (SIGHUP, or a watched file that changed) is a change like any the admin API makes,
 * so it is audited the same way: who asked (the signal or the file), which keys changed (names only:
 * config/diff.ts), the lists version before and after, and for a refused reload its error code. The
 * running config stays when a reload is refused; the entry says so.
 */
import { changedConfigKeys } from '../config/diff.js';
import type { RojeConfig } from '../config/schema.js';
import type { AuditEntry, AuditLog } from './audit.js';

/** What set off a reload: SIGHUP, or a change to the config file. */
export type ReloadCause = 'signal' | 'file';

export const RELOAD_ACTION = 'config reload';

export interface ReloadOutcome {
  who: ReloadCause;
  /** The config in force before the reload. */
  before: RojeConfig;
  /** The config the reload read, or null when it could not be read or was not valid. */
  next: RojeConfig | null;
  listsBefore: string | null;
  listsAfter: string | null;
  /** Why the reload was refused; absent: it took. */
  error?: unknown;
}

export function auditReload(audit: AuditLog, r: ReloadOutcome): AuditEntry {
  const changes = r.next === null ? [] : changedConfigKeys(r.before, r.next);
  const code = (r.error as { code?: unknown } | undefined)?.code;
  return audit.record({
    who: r.who,
    role: 'system',
    action: RELOAD_ACTION,
    target: r.before.source ?? '(embedded default)',
    result: r.error === undefined ? 'ok' : 'failed',
    detail:
      r.error === undefined
        ? changes.length === 0
          ? 'no config key changed'
          : `changed: ${changes.join(', ')}`
        : `refused, the running config stays: ${(r.error as Error).message ?? String(r.error)}`,
    changes,
    lists: { before: short(r.listsBefore), after: short(r.listsAfter) },
    ...(typeof code === 'string' ? { code } : {}),
  });
}

/** The lists version as the logs show it. */
function short(version: string | null): string | null {
  return version === null ? null : version.slice(0, 16);
}
