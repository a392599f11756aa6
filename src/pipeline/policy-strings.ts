/**
 * What roje tells a client about itself over DNS (CH TXT version.roje. and policy.roje.): its version,
 * and the lists in force as counts, versions and ages (never entries). Pure, so that the main thread and
 * every worker (src/workers) answer the same strings from the same facts.
 */
import type { AbuseStatus } from '../policy/abuse/status.js';
import type { ComplianceReport } from '../policy/compliance.js';
import type { CompiledLists } from '../policy/types.js';
import { VERSION } from '../version.js';
import type { ChaosName } from './stages/chaos.js';

export interface PolicyFacts {
  lists: CompiledLists | null;
  /** Feeds left out for want of a good copy. */
  missing: readonly string[];
  /** When each feed's copy was last confirmed (downloaded or 304), ISO; files age from readAt. */
  checkedAt: ReadonlyMap<string, string | undefined>;
  abuse: AbuseStatus;
  now: number;
  /** The compliance profile's gaps (src/policy/compliance.ts); absent: not said. */
  compliance?: ComplianceReport;
}

export function policyStrings(name: ChaosName, facts: () => PolicyFacts): string[] {
  if (name === 'version.roje') return [`roje ${VERSION}`];
  const { lists, missing, checkedAt, abuse, now, compliance } = facts();
  // A certifier on the network sees the gaps too: one string per warning (a sentence, never an entry).
  const gaps =
    compliance === undefined
      ? []
      : [
          `compliance profile=${compliance.profile} warnings=${compliance.warnings.length}`,
          ...compliance.warnings.map((w) => `warning code=${w.code} ${w.message}`),
        ];
  if (lists === null) return ['lists none loaded', ...gaps];
  const age = (s: { name: string; readAt: string }) =>
    Math.max(0, Math.round((now - Date.parse(checkedAt.get(s.name) ?? s.readAt)) / 1000));
  return [
    `lists version=${lists.version.slice(0, 12)} entries=${lists.entries} compiled=${lists.compiledAt}${missing.length > 0 ? ` missing=${missing.join(',')}` : ''}`,
    ...lists.sources.map(
      (s) =>
        `source=${s.name} category=${s.category} entries=${s.entries} version=${s.sha256.slice(0, 12)} age=${age(s)}`,
    ),
    `abuse feeds=${abuse.sources} entries=${abuse.entries} stale=${abuse.feeds.filter((f) => f.stale).length}`,
    ...gaps,
  ];
}
