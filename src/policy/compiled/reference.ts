/**
 * A deliberately simple matcher with the same semantics as the compiled structure (compiled-lists.ts):
 * a Map from name to its rules, and a lookup that tries every suffix of the query. Slow and memory-hungry
 * on purpose: it exists so that tests can check the compiled lookup against something obviously right.
 * Not used by the product.
 */
import { ACTION, type ListRule, type LocalRecord, type LookupResult, type RuleScope } from '../types.js';

interface RefRule {
  scope: RuleScope;
  action: ListRule['action'];
  bit: number;
  local: LocalRecord[];
}

const CODE = {
  block: ACTION.POLICY,
  allow: 0,
  nxdomain: ACTION.NXDOMAIN,
  nodata: ACTION.NODATA,
  local: ACTION.LOCAL,
};

export interface ReferenceResult extends LookupResult {
  /** The local data of the result (for ACTION.LOCAL), to compare with CompiledLists.localData. */
  local: LocalRecord[];
}

export class ReferenceMatcher {
  readonly #rules = new Map<string, RefRule[]>();

  add(rule: ListRule, bit: number): void {
    const name = normalize(rule.name);
    let list = this.#rules.get(name);
    if (!list) {
      list = [];
      this.#rules.set(name, list);
    }
    list.push({ scope: rule.scope, action: rule.action, bit, local: rule.local ?? [] });
  }

  lookup(query: string): ReferenceResult {
    const result: ReferenceResult = {
      blocked: 0,
      allowed: 0,
      action: ACTION.POLICY,
      localIndex: -1,
      matchedLabels: 0,
      local: [],
    };
    const name = normalize(query);
    if (name === '') return result;
    const labels = name.split('.');
    const n = labels.length;
    const steps: Array<{ depth: number; rules: RefRule[]; block: number; allow: number; full: boolean }> = [];
    let mask = 0;
    let allowed = 0;
    for (let depth = 1; depth <= n; depth++) {
      const rules = this.#rules.get(labels.slice(n - depth).join('.'));
      if (!rules) continue;
      const full = depth === n;
      const applies = (r: RefRule) =>
        r.scope === 'subtree' || (full ? r.scope === 'exact' : r.scope === 'below');
      let block = 0;
      let allow = 0;
      for (const r of rules) {
        if (!applies(r)) continue;
        if (r.action === 'allow') allow |= 1 << r.bit;
        else block |= 1 << r.bit;
      }
      mask = (mask | block) & ~allow;
      allowed = (allowed & ~block) | allow;
      steps.push({ depth, rules, block, allow, full });
    }
    result.blocked = mask >>> 0;
    result.allowed = allowed >>> 0;
    for (const step of steps.reverse()) {
      if (mask !== 0) {
        if ((step.block & ~step.allow & mask) === 0) continue;
        const specific: RuleScope = step.full ? 'exact' : 'below';
        const bitsOf = (scope: RuleScope) =>
          step.rules
            .filter((r) => r.scope === scope && r.action !== 'allow')
            .reduce((m, r) => m | (1 << r.bit), 0);
        const scope = (bitsOf(specific) & ~step.allow & mask) !== 0 ? specific : 'subtree';
        const blocks = step.rules.filter((r) => r.scope === scope && r.action !== 'allow');
        const first = blocks.find((r) => CODE[r.action] !== ACTION.POLICY);
        if (first) {
          result.action = CODE[first.action];
          if (first.action === 'local') {
            result.local = blocks.filter((r) => r.action === 'local').flatMap((r) => r.local);
          }
        }
        result.matchedLabels = step.depth;
        return result;
      }
      if ((step.allow & allowed) !== 0) {
        result.matchedLabels = step.depth;
        return result;
      }
    }
    return result;
  }
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
