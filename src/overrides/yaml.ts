/**
 * The overrides as the YAML a config would hold: per venue the `allow:` and `deny:` additions of a
 * policy (policies are per venue in roje, so each venue's block gets a policy of its own to fill in),
 * and the all-venue entries under `all`. Notes and authors become comments.
 */
import { stringify } from 'yaml';
import type { Override } from './types.js';

export interface OverridesExport {
  /** Additions for every venue and the clients of no venue. */
  all: { allow: string[]; deny: string[] };
  /** Additions per venue name. */
  venues: Record<string, { allow: string[]; deny: string[] }>;
}

export function exportShape(entries: readonly Override[]): OverridesExport {
  const out: OverridesExport = { all: { allow: [], deny: [] }, venues: {} };
  for (const o of entries) {
    let target = out.all;
    if (o.venue !== null) {
      target = out.venues[o.venue] ?? { allow: [], deny: [] };
      out.venues[o.venue] = target;
    }
    target[o.action].push(o.name);
  }
  for (const t of [out.all, ...Object.values(out.venues)]) {
    t.allow.sort();
    t.deny.sort();
  }
  return out;
}

export function overridesYaml(entries: readonly Override[], exportedAt: string): string {
  const header = [
    `# roje overrides, exported ${exportedAt}: ${entries.length} entries.`,
    "# Merge `all` into every policy and each venue's lists into its policy (allow: / deny:), then",
    '# delete the overrides: the config then holds them.',
    ...entries.map(
      (o) =>
        `#   ${o.action} ${o.name} (${o.venue ?? 'all'}) by ${o.who} at ${o.at}${o.note !== '' ? `: ${o.note.replace(/\s+/g, ' ')}` : ''}`,
    ),
  ].join('\n');
  return `${header}\n${stringify(exportShape(entries))}`;
}
