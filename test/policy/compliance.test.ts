/**
 * The compliance profile: every gap of a Friendly WiFi venue is one warning with a stable code and a
 * sentence naming the policy, venue, key or source (never a list entry); `profile: none` gives none.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  COMPLIANCE_CODES,
  COMPLIANCE_KINDS,
  type ComplianceInput,
  complianceReport,
  countByKind,
} from '../../src/policy/compliance.js';
import { SAFE_SEARCH_OFF, SAFE_SEARCH_ON } from '../../src/policy/safesearch.js';

const ALL = ['adult', 'abuse', 'doh-bypass', 'gambling'];
const BYPASS_ON = { firefoxCanary: true, privateRelay: true, ddr: true };

function input(over: Partial<ComplianceInput['config']> = {}, more: Partial<ComplianceInput> = {}) {
  return {
    config: {
      profile: 'friendly-wifi' as const,
      policies: { default: { block: 'all' as const, safeSearch: SAFE_SEARCH_ON } },
      venues: [],
      bypass: BYPASS_ON,
      abuse: { maxAgeMs: 12 * 3_600_000 },
      ...over,
    },
    sourceCategories: ALL,
    abuse: { feeds: [] },
    ...more,
  };
}

t.test('a compliant config and lists: no warning', async (t) => {
  t.same(complianceReport(input()), { profile: 'friendly-wifi', warnings: [] });
  const listed = input({
    policies: {
      default: { block: 'all', safeSearch: SAFE_SEARCH_ON },
      cafe: { block: ['adult', 'abuse', 'doh-bypass'], safeSearch: { ...SAFE_SEARCH_ON, youtube: 'strict' } },
    },
    venues: [{ name: 'cafe-north', policy: 'cafe' }],
  });
  t.same(complianceReport(listed).warnings, [], 'categories listed one by one, YouTube strict');
});

t.test(
  'a venue policy without adult, SafeSearch partly off: one warning each, naming policy and venues',
  async (t) => {
    const r = complianceReport(
      input({
        policies: {
          default: { block: 'all', safeSearch: SAFE_SEARCH_ON },
          cafe: { block: ['abuse'], safeSearch: { ...SAFE_SEARCH_ON, bing: false, youtube: 'off' } },
          unused: { block: [], safeSearch: SAFE_SEARCH_OFF },
        },
        venues: [
          { name: 'cafe-north', policy: 'cafe' },
          { name: 'cafe-south', policy: 'cafe' },
        ],
      }),
    );
    t.same(
      r.warnings.map((w) => [w.code, w.kind]),
      [
        ['policy-not-blocking-adult', 'policy'],
        ['policy-not-blocking-doh-bypass', 'policy'],
        ['policy-safesearch-off', 'safesearch'],
      ],
      'a policy no venue uses protects nobody: not checked',
    );
    t.equal(
      r.warnings[0].message,
      'policy "cafe" (used by "cafe-north", "cafe-south") does not block the category "adult" (Friendly WiFi requires it: add it to its block list)',
    );
    t.match(r.warnings[2].message, /^policy "cafe" .* SafeSearch off for bing, youtube/);
  },
);

t.test('the default policy is named with the clients it serves', async (t) => {
  const r = complianceReport(
    input({ policies: { default: { block: ['adult', 'abuse'], safeSearch: SAFE_SEARCH_OFF } } }),
  );
  t.same(
    r.warnings.map((w) => w.code),
    ['policy-not-blocking-doh-bypass', 'policy-safesearch-off'],
  );
  t.match(r.warnings[0].message, /^policy "default" \(used by clients of no venue\)/);
  t.match(r.warnings[1].message, /for google, bing, duckduckgo, youtube/);
});

t.test('bypass prevention off: one warning per key', async (t) => {
  const r = complianceReport(input({ bypass: { firefoxCanary: false, privateRelay: true, ddr: false } }));
  t.same(
    r.warnings.map((w) => [w.code, w.kind]),
    [
      ['bypass-prevention-off', 'bypass'],
      ['bypass-prevention-off', 'bypass'],
    ],
  );
  t.match(r.warnings[0].message, /^bypass\.firefoxCanary is false/);
  t.match(r.warnings[1].message, /^bypass\.ddr is false/);
});

t.test('lists in force without adult, doh-bypass or abuse; lists not known yet', async (t) => {
  const r = complianceReport(input({}, { sourceCategories: ['gambling'] }));
  t.same(
    r.warnings.map((w) => [w.code, w.kind]),
    [
      ['category-without-source', 'lists'],
      ['abuse-source-missing', 'abuse'],
      ['category-without-source', 'lists'],
    ],
  );
  t.match(r.warnings[0].message, /category "adult"/);
  t.match(r.warnings[1].message, /no abuse feed is configured/);
  t.same(complianceReport(input({}, { sourceCategories: null })).warnings, [], 'not loaded: the lists wait');
});

t.test('a stale abuse feed: named, with its age, never its entries', async (t) => {
  const r = complianceReport(
    input(
      {},
      { abuse: { feeds: [{ name: 'iwf', entries: 9, pages: 0, ageSeconds: 30 * 3600, stale: true }] } },
    ),
  );
  t.same(r.warnings, [
    {
      code: 'abuse-feed-stale',
      kind: 'abuse',
      message: 'abuse feed "iwf" was last confirmed 30 h ago, more than abuse.maxAge (12 h)',
    },
  ]);
});

t.test('profile none: no warning, whatever the gaps', async (t) => {
  const r = complianceReport(
    input(
      { profile: 'none', policies: { default: { block: [], safeSearch: SAFE_SEARCH_OFF } } },
      { sourceCategories: [] },
    ),
  );
  t.same(r, { profile: 'none', warnings: [] });
});

t.test('counted by kind, every kind present', async (t) => {
  const counts = countByKind(complianceReport(input({}, { sourceCategories: ['abuse'] })).warnings);
  t.same(Object.keys(counts), [...COMPLIANCE_KINDS]);
  t.same(counts, { policy: 0, safesearch: 0, bypass: 0, lists: 2, abuse: 0 });
});

t.test('docs/policies.md lists every code with its kind, and nothing else', async (t) => {
  const doc = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8');
  const section = doc.split('## Compliance profile')[1] ?? '';
  const rows = [...section.matchAll(/^\| `([a-z-]+)` \| ([a-z]+) \|/gm)].map((m) => [m[1], m[2]]);
  t.same(rows, Object.entries(COMPLIANCE_CODES));
});
