/**
 * The abuse key a config needs (src/policy/abuse): loaded at start and on reload, created on first use
 * when a key file is configured, else one key for this process's life. And the page-entry setting:
 * blocking whole hosts is the operator's explicit choice, audited once per config that makes it.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../admin/audit.js';
import type { RojeConfig } from '../config/schema.js';
import type { AbuseKey } from '../policy/abuse/format.js';
import { ephemeralAbuseKey, loadAbuseKey } from '../policy/abuse/key.js';
import type { AbuseCompileOptions } from '../policy/compile.js';
import { CONFIDENTIAL_CATEGORIES } from '../policy/types.js';

export interface AbuseKeys {
  /** The key and page setting when `config` has abuse sources or an artifact that may hold hashes. */
  load(
    config: RojeConfig,
    previous: AbuseCompileOptions | undefined,
  ): Promise<AbuseCompileOptions | undefined>;
  /** Audits and logs `abuse.pageEntries: block-host` when a config turns it on. */
  noteChoice(config: RojeConfig): void;
}

export function createAbuseKeys(deps: { logger: Logger; audit: AuditLog }): AbuseKeys {
  let ephemeral: AbuseKey | undefined;
  let lastChoice: RojeConfig['abuse']['pageEntries'] = 'count';

  return {
    async load(config, previous) {
      const needed =
        config.compiled !== null ||
        config.fleet.pull !== null ||
        config.lists.some((s) => CONFIDENTIAL_CATEGORIES.has(s.category));
      if (!needed) return undefined;
      const c = config.abuse;
      let key: AbuseKey;
      if (c.keyFile !== null) key = await loadAbuseKey(c.keyFile, { create: true });
      else {
        ephemeral ??= ephemeralAbuseKey();
        key = ephemeral;
      }
      if (previous !== undefined && previous.key.id !== key.id) {
        deps.logger.warn({ keyId: key.id, previousKeyId: previous.key.id }, 'abuse key changed');
      }
      return { key, pageEntries: c.pageEntries };
    },

    noteChoice(config) {
      const choice = config.abuse.pageEntries;
      if (choice === lastChoice) return;
      lastChoice = choice;
      if (choice !== 'block-host') return;
      deps.audit.record({
        who: 'config',
        role: 'admin',
        action: 'abuse.pageEntries=block-host',
        target: config.source ?? '(embedded default)',
        result: 'ok',
      });
      deps.logger.warn(
        'abuse.pageEntries is block-host: the whole host of every page-level abuse entry is blocked (operator choice)',
      );
    },
  };
}
