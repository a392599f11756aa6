import t from 'tap';
import { parse } from 'yaml';
import { exportShape, overridesYaml } from '../../src/overrides/yaml.js';

t.test('the YAML export parses back into allow/deny per venue and for all', async (t) => {
  const at = '2026-12-06T10:00:00.000Z';
  const entries = [
    {
      id: 'o-1',
      name: 'b.example',
      action: 'allow' as const,
      venue: null,
      note: 'news\nsite',
      who: 'ops',
      at,
    },
    { id: 'o-2', name: 'a.example', action: 'allow' as const, venue: null, note: '', who: 'ops', at },
    { id: 'o-3', name: 'c.example', action: 'deny' as const, venue: 'cafe', note: 'spam', who: 'ann', at },
  ];
  const text = overridesYaml(entries, at);
  t.match(text, /^# roje overrides, exported 2026-12-06T10:00:00.000Z: 3 entries/);
  t.match(text, /# {3}allow b.example \(all\) by ops at .*: news site\n/, 'one comment line per entry');
  t.same(parse(text), exportShape(entries));
  t.same(parse(text), {
    all: { allow: ['a.example', 'b.example'], deny: [] },
    venues: { cafe: { allow: [], deny: ['c.example'] } },
  });
});
