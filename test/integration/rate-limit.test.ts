import t from 'tap';
import { query, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje, udpUrl } from '../helpers/roje.js';

const fake = await startFakeUpstream();
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);

async function answered(
  server: { host: string; port: number },
  count: number,
  transport: 'udp' | 'tcp',
  timeoutMs = 500,
) {
  const results = await Promise.allSettled(
    Array.from({ length: count }, () => query(server, 'www.example.test', 'A', { transport, timeoutMs })),
  );
  return results.map((r) => {
    if (r.status === 'rejected') return 'none';
    const tc = ((r.value.decoded.flags ?? 0) & 0x0200) !== 0;
    return tc ? 'tc' : (r.value.decoded.answers?.length ?? 0) > 0 ? 'answer' : 'empty';
  });
}

t.test(
  'over UDP a client gets its burst, then nothing (slip 0); over TCP the same, in a bucket of its own',
  async (t) => {
    const roje = await startRoje(
      { upstreams: [udpUrl(fake)], rateLimit: { responsesPerSecond: 1, burst: 3, slip: 0 } },
      { t },
    );
    const seen = await answered(roje, 10, 'udp');
    t.equal(seen.filter((s) => s === 'answer').length, 3, seen.join(','));
    t.equal(seen.filter((s) => s === 'none').length, 7);
    const tcp = await answered(roje, 5, 'tcp');
    t.equal(
      tcp.filter((s) => s === 'answer').length,
      3,
      `TCP: a burst of its own, then dropped: ${tcp.join(',')}`,
    );
    t.equal(tcp.filter((s) => s === 'none').length, 2);
  },
);

t.test('with slip 1 every limited query gets an empty TC answer, and dig falls back to TCP', async (t) => {
  const roje = await startRoje(
    { upstreams: [udpUrl(fake)], rateLimit: { responsesPerSecond: 1, burst: 1, slip: 1 } },
    { t },
  );
  const seen = await answered(roje, 4, 'udp');
  t.same(seen.toSorted(), ['answer', 'tc', 'tc', 'tc']);
  const dig = await roje.dig(['www.example.test']);
  t.equal(dig.status, 'NOERROR');
  t.ok(dig.retriedTcp, 'dig retried over TCP after TC');
});

t.test('exempt networks and a disabled limiter answer everything', async (t) => {
  const exempt = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      rateLimit: { responsesPerSecond: 1, burst: 1, slip: 0, exempt: ['127.0.0.0/8'] },
    },
    { t },
  );
  t.ok((await answered(exempt, 10, 'udp')).every((s) => s === 'answer'));
  const off = await startRoje(
    { upstreams: [udpUrl(fake)], rateLimit: { enabled: false, responsesPerSecond: 1, burst: 1 } },
    { t },
  );
  t.ok((await answered(off, 10, 'udp')).every((s) => s === 'answer'));
});

t.test('a venue shares one bucket across its clients; other venues are not affected', async (t) => {
  const roje = await startRoje(
    {
      upstreams: [udpUrl(fake)],
      rateLimit: { responsesPerSecond: 100, burst: 100, slip: 0, venueResponsesPerSecond: 1, venueBurst: 3 },
      venues: [
        { name: 'cafe', networks: ['127.0.0.1/32', '127.0.0.2/32'], policy: 'default' },
        { name: 'library', networks: ['127.0.0.3/32'], policy: 'default' },
      ],
    },
    { t },
  );
  const seen = await answered(roje, 5, 'udp');
  t.equal(seen.filter((s) => s === 'answer').length, 3, `the venue's burst: ${seen.join(',')}`);
  const sameVenue = await roje.dig(['-b', '127.0.0.2', 'www.example.test']);
  t.equal(sameVenue.status, null, 'another client of the same venue is over the venue limit too');
  for (let i = 0; i < 3; i++) {
    const other = await roje.dig(['-b', '127.0.0.3', 'www.example.test']);
    t.equal(other.status, 'NOERROR', 'a client of another venue is answered');
  }
  const none = await roje.dig(['-b', '127.0.0.4', 'www.example.test']);
  t.equal(none.status, 'NOERROR', 'a client of no venue has no venue bucket');
});

t.test('the defaults leave hundreds of phones behind one NAT address alone', async (t) => {
  const roje = await startRoje({ upstreams: [udpUrl(fake)] }, { t });
  t.equal(roje.config.rateLimit.responsesPerSecond, 1000);
  // Warm the cache first, and give a loaded CI machine time: what is measured is that none is refused
  // or truncated, not how fast 600 sockets are served.
  await roje.dig(['www.example.test']);
  const seen = await answered(roje, 600, 'udp', 3000);
  t.equal(seen.filter((s) => s === 'answer').length, 600, '600 queries at once from one address');
});
