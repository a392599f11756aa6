/**
 * Per-query logs: off by default (they record what people browse), one line per query when
 * log.queries is on, and switchable by a reload.
 */
import { join } from 'node:path';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type LogLine, startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
for (const name of ['private.example.test', 'logged.example.test', 'later.example.test']) {
  fake.zone.set(name, 'A', [{ data: '192.0.2.1', ttl: 300 }]);
}

const queryLines = (logs: LogLine[]) => logs.filter((l) => l.msg === 'query');

t.test('no per-query logs by default', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t, logLevel: 'trace' });
  t.equal(roje.config.log.queries, false);
  await roje.dig(['private.example.test']);
  await roje.dig(['private.example.test', '+tcp']);
  await roje.dig(['nx-private.example.test']);
  t.ok(roje.logs.length > 0, 'the logger is collecting (startup lines)');
  const text = JSON.stringify(roje.logs);
  t.notMatch(text, /private\.example\.test/, 'no query name in any log line, even at trace level');
  t.same(queryLines(roje.logs), []);
});

t.test('log.queries: one line per query with stable keys', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)], log: { queries: true } }, { t });
  await roje.dig(['logged.example.test']); // upstream
  await roje.dig(['logged.example.test', '+tcp']); // cache hit over TCP
  await roje.dig(['nx-logged.example.test']); // NXDOMAIN
  const lines = queryLines(roje.logs);
  t.equal(lines.length, 3, 'one line per query');
  t.match(lines[0], {
    qname: 'logged.example.test',
    qtype: 1,
    rcode: 0,
    source: 'upstream',
    client: '127.0.0.1',
    transport: 'udp',
  });
  t.type(lines[0].ms, 'number');
  t.match(lines[1], { qname: 'logged.example.test', source: 'cache', transport: 'tcp' });
  t.match(lines[2], { qname: 'nx-logged.example.test', rcode: 3 });
});

t.test('a reload switches query logging on', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  await roje.dig(['later.example.test']);
  t.same(queryLines(roje.logs), []);
  await roje.app.reload(await roje.configFor({ upstreams: [udpUrl(fake)], log: { queries: true } }));
  await roje.dig(['later.example.test']);
  const lines = queryLines(roje.logs);
  t.equal(lines.length, 1);
  t.match(lines[0], { qname: 'later.example.test', source: 'cache' });
});

t.test('per-query logs never name an entry of a confidential category', async (t) => {
  const dir = t.testdir({
    'abuse.txt': 'canary.abuse.roje.test\n',
    'adult.hosts': '0.0.0.0 adult.roje.test\n',
  });
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      log: { queries: true },
      lists: [
        { category: 'abuse', path: join(dir, 'abuse.txt') },
        { category: 'adult', path: join(dir, 'adult.hosts') },
      ],
    },
    { t },
  );
  t.equal((await roje.dig(['www.canary.abuse.roje.test'])).status, 'NXDOMAIN');
  t.equal((await roje.dig(['adult.roje.test'])).status, 'NXDOMAIN');
  const text = JSON.stringify(roje.logs);
  t.notMatch(text, /canary/, 'no log line names the abuse entry or the query under it');
  const queries = roje.logs.filter((l) => l.msg === 'query');
  t.same(
    queries.map((l) => l.qname),
    ['[confidential]', 'adult.roje.test'],
  );
});
