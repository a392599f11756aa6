import t from 'tap';
import { adblockParser } from '../../../src/policy/parsers/adblock.js';
import { detectFormat } from '../../../src/policy/parsers/detect.js';
import { domainsParser } from '../../../src/policy/parsers/domains.js';
import { hostsParser } from '../../../src/policy/parsers/hosts.js';
import { parserFor } from '../../../src/policy/parsers/index.js';
import { rpzParser } from '../../../src/policy/parsers/rpz.js';
import { createStats, MAX_SAMPLES } from '../../../src/policy/parsers/stats.js';
import type { ListParser, ListRule, ParseStats } from '../../../src/policy/types.js';

async function* lines(text: string): AsyncGenerator<string> {
  for (const l of text.split('\n')) yield l;
}

async function parse(parser: ListParser, text: string): Promise<{ rules: ListRule[]; stats: ParseStats }> {
  const stats = createStats();
  const rules: ListRule[] = [];
  for await (const r of parser.parse(lines(text), stats)) rules.push(r);
  return { rules, stats };
}

const long = `${'a'.repeat(64)}.com`;
const tooLongName = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`;

t.test('hosts', async (t) => {
  const { rules, stats } = await parse(
    hostsParser,
    [
      '# comment',
      '127.0.0.1 localhost localhost.localdomain local',
      '255.255.255.255 broadcasthost',
      '::1 localhost ip6-localhost ip6-loopback',
      'fe80::1%lo0 localhost',
      '0.0.0.0 0.0.0.0',
      '0.0.0.0 Bad.Example.COM. www.bad.example # inline',
      '127.0.0.1\tbad2.example',
      ':: six.example',
      `0.0.0.0 ${long}`,
      `0.0.0.0 ${tooLongName}`,
      '0.0.0.0 bad_ok.example b@d.example',
      'not-an-address name.example',
      '0.0.0.0',
      '216.239.38.120 google.com',
      '2001:db8::1 v6.example',
      '',
    ].join('\n'),
  );
  t.same(
    rules.map((r) => [r.name, r.scope, r.action, r.line]),
    [
      ['bad.example.com', 'subtree', 'block', 7],
      ['www.bad.example', 'subtree', 'block', 7],
      ['bad2.example', 'subtree', 'block', 8],
      ['six.example', 'subtree', 'block', 9],
      ['bad_ok.example', 'subtree', 'block', 12],
      ['google.com', 'exact', 'local', 15],
      ['v6.example', 'exact', 'local', 16],
    ],
  );
  t.same(rules[5].local, [{ type: 'A', data: '216.239.38.120' }], 'a routable address is local data');
  t.same(rules[6].local, [{ type: 'AAAA', data: '2001:db8::1' }]);
  t.equal(stats.lines, 17);
  t.equal(stats.rules, 7);
  t.same(stats.skipped, {
    'label-too-long': 1,
    'name-too-long': 1,
    'bad-character': 1,
    'unsupported-syntax': 2,
  });
  t.same(stats.notes, { 'hosts-local': 2 });
  t.same(
    stats.samples.map((s) => [s.line, s.reason]),
    [
      [10, 'label-too-long'],
      [11, 'name-too-long'],
      [12, 'bad-character'],
      [13, 'unsupported-syntax'],
      [14, 'unsupported-syntax'],
    ],
  );
});

t.test('domains', async (t) => {
  const { rules, stats } = await parse(
    domainsParser,
    [
      '# header',
      '! also a comment',
      '',
      'Example.COM',
      '  spaced.example  ',
      'inline.example # why',
      '*.below.example',
      '.dotted.example',
      'münchen.de',
      'xxx',
      long,
      'two words',
      '0.0.0.0 hosts.example',
      '192.0.2.1',
      'bad/char.example',
    ].join('\n'),
  );
  t.same(
    rules.map((r) => [r.name, r.scope, r.line]),
    [
      ['example.com', 'subtree', 4],
      ['spaced.example', 'subtree', 5],
      ['inline.example', 'subtree', 6],
      ['below.example', 'below', 7],
      ['dotted.example', 'subtree', 8],
      ['xn--mnchen-3ya.de', 'subtree', 9],
      ['xxx', 'subtree', 10],
    ],
  );
  t.ok(rules.every((r) => r.action === 'block'));
  t.same(stats.skipped, {
    'label-too-long': 1,
    'unsupported-syntax': 2,
    'not-a-name': 1,
    'bad-character': 1,
  });
  t.same(stats.notes, { 'wildcard-below': 1 });
  t.equal(stats.lines, 15);
});

t.test('adblock', async (t) => {
  const { rules, stats } = await parse(
    adblockParser,
    [
      '[Adblock Plus 2.0]',
      '! Title: test',
      '# hosts-style comment',
      '||block.example^',
      '@@||allow.example^',
      '|exact.example^',
      '||important.example^$important',
      '@@||both.example^$important',
      '||Upper.Example^|',
      '||*.below.example^',
      '||third.example^$third-party',
      '||dnstype.example^$dnstype=AAAA',
      'example.com##.banner',
      '##.ad',
      '||path.example/ads^',
      '||path2.example/ads',
      '/regex\\.example/',
      '||noseparator.example',
      'plain.example',
      `||${long}^`,
      '||bad!char.example^',
      '||x.example^$',
    ].join('\n'),
  );
  t.same(
    rules.map((r) => [r.name, r.scope, r.action, r.line]),
    [
      ['block.example', 'subtree', 'block', 4],
      ['allow.example', 'subtree', 'allow', 5],
      ['exact.example', 'exact', 'block', 6],
      ['important.example', 'subtree', 'block', 7],
      ['both.example', 'subtree', 'allow', 8],
      ['upper.example', 'subtree', 'block', 9],
      ['below.example', 'below', 'block', 10],
    ],
  );
  t.same(stats.skipped, { 'unsupported-syntax': 10, 'label-too-long': 1, 'bad-character': 1 });
  t.same(
    stats.samples.filter((s) => s.reason === 'unsupported-syntax').map((s) => s.line),
    [11, 12, 13, 14, 15, 16, 17, 18, 19, 22],
  );
  t.equal(stats.samples.find((s) => s.line === 11)?.text, '||third.example^$third-party');
});

t.test('rpz', async (t) => {
  const { rules, stats } = await parse(
    rpzParser,
    [
      '$TTL 300',
      '$ORIGIN rpz.zone.',
      '@ IN SOA ns.rpz.zone. hostmaster.rpz.zone. (',
      '      1 ; serial',
      '      3600 600 86400 300 )',
      '  IN NS ns.rpz.zone.',
      '; a comment',
      'nx.example CNAME .',
      '*.nx.example CNAME .',
      'exact.example 300 IN CNAME .',
      '*.wild.example CNAME .',
      'nodata.example IN 60 CNAME *.',
      'pass.example CNAME rpz-passthru.',
      'drop.example CNAME rpz-drop.',
      'abs.example.rpz.zone. CNAME .',
      'Local.Example A 192.0.2.1',
      '  AAAA 2001:DB8::1',
      '  TXT "blocked \\"here\\"" "too"',
      'cname.example CNAME safe.example.',
      '32.1.2.0.192.rpz-ip CNAME .',
      'ns.bad.rpz-nsdname CNAME .',
      '24.0.0.0.10.rpz-client-ip CNAME .',
      'tcp.example CNAME rpz-tcp-only.',
      'mx.example MX 10 mail.example.',
      'bad.A A 999.1.1.1',
      'other.zone. CNAME .',
      '$INCLUDE other.file',
      `${'a'.repeat(64)}.example CNAME .`,
      'old.example CNAME old.example.',
    ].join('\n'),
  );
  t.same(
    rules.map((r) => [r.name, r.scope, r.action, r.line]),
    [
      ['nx.example', 'subtree', 'nxdomain', 8],
      ['exact.example', 'exact', 'nxdomain', 10],
      ['wild.example', 'below', 'nxdomain', 11],
      ['nodata.example', 'exact', 'nodata', 12],
      ['pass.example', 'exact', 'allow', 13],
      ['drop.example', 'exact', 'nxdomain', 14],
      ['abs.example', 'exact', 'nxdomain', 15],
      ['local.example', 'exact', 'local', 16],
      ['cname.example', 'exact', 'local', 19],
      ['old.example', 'exact', 'allow', 29],
    ],
  );
  t.same(rules[7].local, [
    { type: 'A', data: '192.0.2.1' },
    { type: 'AAAA', data: '2001:db8::1' },
    { type: 'TXT', data: 'blocked "here"too' },
  ]);
  t.same(rules[8].local, [{ type: 'CNAME', data: 'safe.example' }]);
  t.same(stats.notes, { 'rpz-merged': 1, 'rpz-drop': 1 });
  t.same(stats.skipped, { 'unsupported-syntax': 8, 'label-too-long': 1 });
  t.same(
    stats.samples.map((s) => s.line),
    [20, 21, 22, 23, 24, 25, 26, 27, 28],
  );
  t.equal(stats.lines, 29);
  t.equal(stats.rules, 10);
});

t.test('rpz without $ORIGIN: an absolute SOA owner names the zone', async (t) => {
  const { rules, stats } = await parse(
    rpzParser,
    [
      'rpz.local. 3600 IN SOA a. b. 1 2 3 4 5',
      'rpz.local. NS a.',
      'x.example.rpz.local. CNAME .',
      'y.example CNAME *.',
    ].join('\n'),
  );
  t.same(
    rules.map((r) => [r.name, r.action]),
    [
      ['x.example', 'nxdomain'],
      ['y.example', 'nodata'],
    ],
  );
  t.same(stats.skipped, {});
});

t.test('rpz: an unclosed parenthesis is skipped, not buffered forever', async (t) => {
  const { rules, stats } = await parse(
    rpzParser,
    ['@ SOA a. b. ( 1 2 3', ...Array(100).fill('4'), 'x CNAME .'].join('\n'),
  );
  t.same(
    rules.map((r) => r.name),
    ['x'],
  );
  // The record is dropped after 64 lines; the 37 stray lines after it are skipped one by one.
  t.same(stats.skipped, { 'unsupported-syntax': 38 });
  t.equal(stats.samples[0].line, 1);
  t.equal(stats.samples[1].line, 65);
});

t.test('rpz: comments after a directive, other special targets, NSDNAME wildcards', async (t) => {
  const { rules, stats } = await parse(
    rpzParser,
    [
      '$TTL 2h;',
      '$ORIGIN policy.example.',
      '@ SOA ns.example. admin.example. ( 1 12h 15m 3w 2h)',
      ' NS ns.example.',
      'skip.example CNAME rpz-skipzone.',
      '*.ns.example.rpz-nsdname CNAME .',
      'syn.example CNAME *.other.example.',
      'relative.example CNAME target',
      'ok.example CNAME .',
    ].join('\n'),
  );
  t.same(
    rules.map((r) => [r.name, r.action, r.local]),
    [
      ['relative.example', 'local', [{ type: 'CNAME', data: 'target.policy.example' }]],
      ['ok.example', 'nxdomain', undefined],
    ],
  );
  t.same(stats.skipped, { 'unsupported-syntax': 3 });
});

t.test('samples are capped, counts are not', async (t) => {
  const text = Array.from({ length: 50 }, (_, i) => `bad name ${i}`).join('\n');
  const { stats } = await parse(domainsParser, text);
  t.equal(stats.skipped['unsupported-syntax'], 50);
  t.equal(stats.samples.length, MAX_SAMPLES);
  t.equal(stats.samples[MAX_SAMPLES - 1].line, MAX_SAMPLES);
});

t.test('parserFor', async (t) => {
  t.equal(parserFor('squidguard').format, 'squidguard');
  t.equal(parserFor('rpz'), rpzParser);
  t.throws(() => parserFor('csv' as never), { code: 'ROJE_ERR_LIST_FORMAT' });
});

t.test('detectFormat on crafted samples', async (t) => {
  t.equal(detectFormat(['[Adblock Plus 2.0]']), 'adblock');
  t.equal(detectFormat(['! c', '||a.example^', '||b.example^']), 'adblock');
  t.equal(detectFormat(['# c', '0.0.0.0 a.example', '127.0.0.1 b.example']), 'hosts');
  t.equal(detectFormat(['$TTL 30', 'a CNAME .']), 'rpz');
  t.equal(detectFormat(['@ SOA a. b. 1 2 3 4 5', ' NS a.', 'x CNAME .']), 'rpz');
  t.equal(detectFormat(['# c', 'a.example', 'b.example', '*.c.example']), 'domains');
  t.equal(detectFormat([]), null);
  t.equal(detectFormat(['# only comments']), null);
  t.equal(detectFormat(['hello world, this is prose', 'more prose here', 'a.example']), null);
});
