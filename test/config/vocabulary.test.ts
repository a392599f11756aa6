import t from 'tap';
import { ROLES } from '../../src/admin/auth.js';
import { LANGS } from '../../src/blockpage/i18n.js';
import { validateConfig } from '../../src/config/load.js';
import * as schema from '../../src/config/schema.js';
import { BLOCK_MODES } from '../../src/policy/block-answer.js';
import { isListFormat, LIST_FORMATS as PARSED_FORMATS } from '../../src/policy/parsers/index.js';
import { SAFE_SEARCH_OFF, SAFE_SEARCH_ON, YOUTUBE_MODES } from '../../src/policy/safesearch.js';

// The words the config file shares with the rest of roje are declared once, by the code that
// implements them; the schema offers exactly those, so a new block mode or list format cannot be
// forgotten in the config (or accepted by the config and unknown to the code).

type Node = Record<string, unknown>;
const props = (node: unknown) => (node as { properties: Record<string, Node> }).properties;
const choices = (node: unknown) => ((node as { anyOf: Node[] }).anyOf ?? []).map((b) => b.const);
const anyOfBranch = (node: unknown, type: string) =>
  (node as { anyOf: Node[] }).anyOf.find((b) => b.type === type) as Node;

const top = props(schema.ConfigSchema);
const policy = Object.values(
  (top.policies as { patternProperties: Record<string, Node> }).patternProperties,
)[0];
const listEntry = (anyOfBranch(top.lists, 'array') as { items: Node }).items;
const token = (props(top.admin).tokens as { items: Node }).items;

t.test('block modes and YouTube modes are those of the policy code', async (t) => {
  t.same(choices(props(policy).blockMode), [...BLOCK_MODES]);
  t.same(choices(props(anyOfBranch(props(policy).safeSearch, 'object')).youtube), [...YOUTUBE_MODES]);
  t.equal(schema.BLOCK_MODES, BLOCK_MODES, 'schema.ts re-exports the one declaration');
  t.equal(schema.YOUTUBE_MODES, YOUTUBE_MODES, 'schema.ts re-exports the one declaration');
  for (const mode of BLOCK_MODES) t.match(schema.EXPECTED.blockMode, mode, 'the message names every mode');
});

t.test('list formats: auto, what the parsers read, and abuse', async (t) => {
  const formats = choices(props(listEntry).format);
  t.same(formats, ['auto', ...PARSED_FORMATS, 'abuse']);
  t.same(formats, [...schema.LIST_FORMATS]);
  for (const f of formats.filter((f) => f !== 'auto')) t.ok(isListFormat(f), `${String(f)} has a reader`);
  t.equal(schema.EXPECTED.listFormat, `one of ${formats.join(', ')}`);
});

t.test('block page languages and token roles are those of their modules', async (t) => {
  t.same(choices(props(top.blockPage).defaultLang), [...LANGS]);
  t.same(choices(props(token).role).sort(), [...ROLES].sort());
});

t.test('safeSearch true and false are the policy code’s on and off settings', async (t) => {
  const cfg = await validateConfig(
    { upstreams: ['udp://127.0.0.1:5300'], policies: { open: { safeSearch: false } } },
    '/etc/roje/roje.yaml',
  );
  t.same(cfg.policies.default.safeSearch, SAFE_SEARCH_ON);
  t.same(cfg.policies.open.safeSearch, SAFE_SEARCH_OFF);
  t.not(cfg.policies.default.safeSearch, SAFE_SEARCH_ON, 'a copy, not the frozen constant');
});
