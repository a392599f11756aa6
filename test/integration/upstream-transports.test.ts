/**
 * Each upstream transport end to end: a client asks roje over UDP, roje asks the fake upstream over
 * tcp://, tls:// (DNS over TLS) or https:// (DNS over HTTPS) and the answer comes back whole.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startRoje } from '../helpers/roje.js';

const fake = await startFakeUpstream({ tls: true, doh: true });
t.teardown(() => fake.close());
fake.zone.set('www.example.test', 'A', [{ data: '192.0.2.1', ttl: 300 }]);
fake.zone.set(
  'big.example.test',
  'TXT',
  Array.from({ length: 40 }, (_, i) => ({ data: `record ${i} ${'y'.repeat(40)}`, ttl: 300 })),
);

const dir = await mkdtemp(join(tmpdir(), 'roje-integration-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const caFile = join(dir, 'upstream-ca.pem');
await writeFile(caFile, fake.cert!.cert);

const servername = fake.cert!.servername;

t.test('tcp:// upstream', async (t) => {
  const roje = await startRoje({ upstreams: [`tcp://127.0.0.1:${fake.port}`] }, { t });
  fake.resetCounts();
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.1'],
  );
  t.equal(fake.lastQuery?.transport, 'tcp');
  t.equal(fake.counts.udp, 0, 'nothing over UDP');
  const big = await roje.dig(['big.example.test', 'TXT', '+tcp']);
  t.equal(big.answers.length, 40, 'a large answer arrives whole over the stream');
});

t.test('tls:// upstream with a CA file and a #servername', async (t) => {
  const roje = await startRoje(
    { upstreams: [{ url: `tls://127.0.0.1:${fake.tlsPort}#${servername}`, ca: caFile }] },
    { t },
  );
  t.equal(roje.config.upstreams[0].ca, fake.cert!.cert, 'the CA was read from the file');
  fake.resetCounts();
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.1'],
  );
  t.equal(fake.lastQuery?.transport, 'tls');
  t.equal(fake.counts.tls, 1);
  const big = await roje.dig(['big.example.test', 'TXT', '+tcp']);
  t.equal(big.answers.length, 40);
});

t.test('tls:// upstream whose certificate is not trusted fails closed', async (t) => {
  const roje = await startRoje(
    { upstreams: [`tls://127.0.0.1:${fake.tlsPort}#${servername}`], upstream: { timeout: '500ms' } },
    { t },
  );
  fake.resetCounts();
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'SERVFAIL', 'no answer from an unverified upstream');
  t.same(r.answers, []);
  t.equal(r.ede.length, 1);
  t.equal(fake.counts.tls, 0, 'no query was sent over the unverified connection');
});

t.test('tls:// upstream with the wrong #servername fails closed', async (t) => {
  const roje = await startRoje(
    {
      upstreams: [{ url: `tls://127.0.0.1:${fake.tlsPort}#other.roje.test`, ca: caFile }],
      upstream: { timeout: '500ms' },
    },
    { t },
  );
  fake.resetCounts();
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(fake.counts.tls, 0);
});

t.test('https:// (DoH) upstream', async (t) => {
  const roje = await startRoje({ upstreams: [{ url: fake.dohUrl!, ca: caFile }] }, { t });
  fake.resetCounts();
  const r = await roje.dig(['www.example.test']);
  t.equal(r.status, 'NOERROR');
  t.same(
    r.answers.map((a) => a.data),
    ['192.0.2.1'],
  );
  t.equal(fake.lastQuery?.transport, 'doh');
  t.equal(fake.lastQuery?.id, 0, 'RFC 8484: ID 0 upstream');
  t.not(r.id, 0);
  const big = await roje.dig(['big.example.test', 'TXT', '+tcp']);
  t.equal(big.answers.length, 40);
});

t.test('https:// upstream answering HTTP 500 -> SERVFAIL with an EDE', async (t) => {
  const roje = await startRoje(
    { upstreams: [{ url: fake.dohUrl!, ca: caFile }], upstream: { timeout: '500ms' } },
    { t },
  );
  fake.behave('broken.example.test', { httpStatus: 500 });
  t.teardown(() => fake.behave('broken.example.test', null));
  const r = await roje.dig(['broken.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(r.ede.length, 1);
  t.equal(r.ede[0].code, 23, 'Network Error');
});
