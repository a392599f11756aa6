/**
 * Small CompiledLists for policy tests, built with the real builder and loaded from its artifact bytes.
 * `spec` maps a category to its rules: "name" (subtree block), "@@name" (subtree allow), "|name"
 * (exact block), "*.name" (below block), or a ListRule-like object for RPZ actions and local data.
 */
import { createListBuilder, type LoadedLists, loadArtifact } from '../../src/policy/compiled/index.js';
import type { ListRule } from '../../src/policy/types.js';

export type RuleSpec = string | (Omit<ListRule, 'line' | 'scope'> & { scope?: ListRule['scope'] });

export function buildLists(spec: Record<string, RuleSpec[]>): LoadedLists {
  const builder = createListBuilder();
  for (const [category, rules] of Object.entries(spec)) {
    const bit = builder.category(category);
    let line = 0;
    for (const r of rules) {
      line++;
      builder.add(toRule(r, line), bit);
    }
    builder.addSource({
      name: `${category}-test`,
      category,
      format: 'domains',
      entries: rules.length,
      skipped: 0,
      sha256: '0'.repeat(64),
      readAt: new Date(0).toISOString(),
    });
  }
  return loadArtifact(builder.finish({ compiledAt: new Date(0).toISOString() }), 'test lists');
}

function toRule(r: RuleSpec, line: number): ListRule {
  if (typeof r !== 'string') return { scope: 'subtree', ...r, line };
  if (r.startsWith('@@')) return { name: r.slice(2), scope: 'subtree', action: 'allow', line };
  if (r.startsWith('|')) return { name: r.slice(1), scope: 'exact', action: 'block', line };
  if (r.startsWith('*.')) return { name: r.slice(2), scope: 'below', action: 'block', line };
  return { name: r, scope: 'subtree', action: 'block', line };
}
