/**
 * The service lifecycle through a real roje: every compile goes through one queue (four refreshes at
 * once never compile in parallel, and the newest lists are the ones in force), a reload that fails at
 * its bind leaves lists, feeds, fleet and chain as they were, and a start that fails half way releases
 * every resource it took.
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { createApp } from '../../src/app.js';
import type { AbuseCompileOptions } from '../../src/policy/compile.js';
import { compileLists } from '../../src/policy/lists-loader.js';
import type { ListSource } from '../../src/policy/types.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { keyPair, startFileServer } from '../helpers/fleet.js';
import { startRoje, udpUrl, waitFor } from '../helpers/roje.js';

const fake = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => fake.close());
const second = await startFakeUpstream({ apexes: ['example.test'] });
t.teardown(() => second.close());
for (const f of [fake, second]) f.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);

const silent = pino({ level: 'silent' });

t.test('four refreshes at once: one compile at a time, the newest lists in force', async (t) => {
  const dir = t.testdir({ 'adult.txt': 'one.example.test\n' });
  const file = join(dir, 'adult.txt');
  let running = 0;
  let most = 0;
  let compiles = 0;
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], lists: [{ category: 'adult', path: file }] },
    { t },
  );
  const config = roje.config;
  await roje.stop();
  // A slow compile (the real one, then a pause), so that the refreshes overlap it.
  const app = createApp(config, {
    logger: silent,
    listsLoader: {
      compile: async (sources: readonly ListSource[], abuse?: AbuseCompileOptions) => {
        running++;
        compiles++;
        most = Math.max(most, running);
        try {
          const result = await compileLists(sources, abuse);
          await new Promise((r) => setTimeout(r, 150));
          return result;
        } finally {
          running--;
        }
      },
    },
  });
  t.teardown(() => app.stop());
  await app.start();
  t.equal(compiles, 1, 'the start compiled once');

  // A refresh of unchanged files compiles nothing: the version of their contents is the one in force.
  await app.admin.refreshLists(undefined);
  t.equal(compiles, 1, 'an unchanged file is not compiled again');

  writeFileSync(file, 'one.example.test\ntwo.example.test\n');
  const first = app.admin.refreshLists(undefined);
  // The other three arrive while the first compiles, after the file changed again.
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync(file, 'one.example.test\ntwo.example.test\nthree.example.test\n');
  const rest = [1, 2, 3].map(() => app.admin.refreshLists(undefined));
  await Promise.all([first, ...rest]);
  t.equal(most, 1, 'never two compiles at once');
  t.equal(compiles, 3, 'the three late refreshes shared one follow-up compile');
  t.equal(app.lists()?.entries, 3, 'the lists in force are the newest');
  t.equal(app.listsService.compiles(), 4, 'four runs of the queue, one of them finding nothing changed');
});

t.test('a reload whose bind fails leaves lists, feeds, fleet and chain as they were', async (t) => {
  const feedServer = await startFileServer(t);
  feedServer.files.set('/a.txt', { body: 'a.example.test\n' });
  feedServer.files.set('/b.txt', { body: 'b.example.test\n' });
  const base = feedServer.url.replace('/lists.rojebl', '');
  const dir = t.testdir({ 'publish.key': keyPair().privatePem });
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      stateDir: join(dir, 'state'),
      lists: [{ category: 'adult', url: `${base}/a.txt`, name: 'feed-a' }],
    },
    { t },
  );
  await waitFor(() => (roje.app.lists()?.entries ?? 0) === 1, 'the first feed copy');
  const before = {
    version: roje.app.lists()?.version,
    upstreams: roje.app.upstreamHealth().map((u) => u.url),
    status: roje.app.admin.status() as { feeds: Array<{ name: string }>; fleet: unknown },
  };
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const busyPort = (busy.address() as { port: number }).port;
  const next = await roje.configFor({
    upstreams: [udpUrl(second)],
    stateDir: join(dir, 'state'),
    listen: [`127.0.0.1:${roje.port}`, `127.0.0.1:${busyPort}`],
    lists: [{ category: 'adult', url: `${base}/b.txt`, name: 'feed-b' }],
    fleet: { publish: { signingKeyFile: join(dir, 'publish.key') } },
  });
  await t.rejects(roje.app.reload(next), { code: 'ROJE_ERR_LISTEN_FAILED' });

  const after = roje.app.admin.status() as typeof before.status;
  t.equal(roje.app.lists()?.version, before.version, 'the same lists');
  t.same(
    after.feeds.map((f) => f.name),
    ['feed-a'],
    'the same feeds',
  );
  t.same(after.fleet, before.status.fleet, 'the fleet did not start publishing');
  t.same(
    roje.app.upstreamHealth().map((u) => u.url),
    before.upstreams,
    'the same upstreams',
  );
  t.same(
    roje.app.addresses().map((a) => a.port),
    [roje.port],
    'the same listeners',
  );
  const asked = second.counts.total;
  t.equal((await roje.dig(['www.example.test'])).status, 'NOERROR');
  t.equal(second.counts.total, asked, 'queries still go to the old upstream');
  t.equal((await roje.dig(['a.example.test'])).status, 'NXDOMAIN', 'the old feed still blocks');
  // The old feeds still run: a refresh of feed-a works.
  feedServer.files.set('/a.txt', { body: 'a.example.test\nc.example.test\n' });
  await roje.app.admin.refreshLists(['feed-a']);
  t.equal(roje.app.lists()?.entries, 2, 'the kept feed refreshes');
});

t.test('a start that fails half way releases every resource it took', async (t) => {
  const busy = createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', () => resolve()));
  const busyTcp = createServer();
  await new Promise<void>((resolve) => busyTcp.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    busy.close();
    busyTcp.close();
  });
  const dir = t.testdir({ 'adult.txt': 'x.example.test\n' });
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  await roje.stop();
  // Statistics, lists, DNS and admin listeners start; the block page's port is taken.
  const config = await roje.configFor({
    upstreams: [udpUrl(fake)],
    stateDir: join(dir, 'state'),
    lists: [{ category: 'adult', path: join(dir, 'adult.txt') }],
    admin: { listen: '127.0.0.1:0' },
    blockPage: { listen: [`127.0.0.1:${(busyTcp.address() as { port: number }).port}`] },
  });
  const resources = () =>
    process
      .getActiveResourcesInfo()
      .filter((r) => r !== 'Timeout' && r !== 'TTYWrap')
      .sort();
  await new Promise((r) => setTimeout(r, 100));
  const open = resources();
  const app = createApp(config, { logger: silent });
  await t.rejects(app.start(), { code: 'ROJE_ERR_LISTEN_FAILED' });
  t.same(app.addresses(), [], 'the DNS listeners were closed');
  t.same(app.opsAddresses(), { admin: null, metrics: null }, 'the admin listener was closed');
  t.same((app.admin.status() as { stats: unknown }).stats, null, 'the statistics store was closed');
  await new Promise((r) => setTimeout(r, 50));
  t.same(resources(), open, 'no socket, server or handle left behind');
});
