/**
 * Feeds behind client certificate authentication (as the IWF serves its list), over real HTTPS on
 * loopback; and an abuse feed stored by the feed manager: hashed on its way to the disk, so no file
 * under the state directory holds a listed name, while the stored copy still compiles and blocks.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { download } from '../../src/feeds/download.js';
import { createFeeds } from '../../src/feeds/feeds.js';
import { type FeedListSource, type FeedTls, redactUrl } from '../../src/feeds/types.js';
import { createAbuseHashStream } from '../../src/policy/abuse/format.js';
import { abuseKey } from '../../src/policy/abuse/key.js';
import { compileSources } from '../../src/policy/compile.js';
import { loadArtifact } from '../../src/policy/compiled/index.js';
import { ABUSE_CANARY, ABUSE_CANARY_SECRETS, ABUSE_CANARY_TEXT } from '../helpers/canaries.js';
import { testCert } from '../helpers/certs.js';

const KEY = abuseKey(Buffer.alloc(32, 0x7e));
const LIST = 'one.example.test\ntwo.example.test\n';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * An HTTPS server on 127.0.0.1 that asks for a client certificate and refuses a connection without one
 * it trusts (the test certificate, which is also its own).
 */
async function mtlsServer(t: Test, route: Route) {
  const c = testCert();
  const seen: Array<string | null> = [];
  const server = createHttpsServer(
    { key: c.key, cert: c.cert, ca: [c.cert], requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const cn = peer?.subject?.CN;
      seen.push(typeof cn === 'string' ? cn : null);
      route(req, res);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { base: `https://127.0.0.1:${port}`, seen };
}

/** The test certificate and key as files (the client presents them; they also serve as the CA). */
function certFiles(t: Test): FeedTls & { dir: string } {
  const c = testCert();
  const dir = t.testdir({
    'client.crt': c.cert,
    'client.key': c.key,
    'ca.pem': c.cert,
    'junk.pem': 'not a pem\n',
  });
  return {
    dir,
    certFile: join(dir, 'client.crt'),
    keyFile: join(dir, 'client.key'),
    caFile: join(dir, 'ca.pem'),
  };
}

function request(url: string, dest: string, tls: FeedTls | null) {
  return download(
    { name: 'iwf', url, dest, maxBytes: 1 << 20, timeoutMs: 2000, bearerTokenFile: null, tls },
    { retries: 0 },
  );
}

t.test('download presents the client certificate and trusts the CA file', async (t) => {
  const srv = await mtlsServer(t, (_req, res) => res.writeHead(200).end(LIST));
  const files = certFiles(t);
  const dest = join(files.dir, 'out');
  const got = await request(`${srv.base}/list`, dest, files);
  t.match(got, { status: 'ok', bytes: LIST.length, attempts: 1 });
  t.equal(readFileSync(dest, 'utf8'), LIST);
  t.same(srv.seen, ['dns.roje.test'], 'the server saw our certificate');
  // Twice: the per-download agent was closed, a new one works.
  t.match(await request(`${srv.base}/list`, dest, files), { status: 'ok' });
});

t.test('without the client certificate the server refuses: an error, not a hang', async (t) => {
  const srv = await mtlsServer(t, (_req, res) => res.writeHead(200).end(LIST));
  const files = certFiles(t);
  const dest = join(files.dir, 'out');
  const started = Date.now();
  const err = await request(`${srv.base}/list`, dest, {
    certFile: null,
    keyFile: null,
    caFile: files.caFile,
  }).then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );
  t.ok(err !== null, 'refused');
  t.match(err?.code, /^ROJE_ERR_FEED_(NETWORK|HTTP)$/);
  t.match(err?.message, /feed "iwf" \(https:\/\/127\.0\.0\.1:\d+\/list\)/);
  t.ok(Date.now() - started < 2000, 'before the timeout');
  t.same(srv.seen, [], 'no request got through');
  t.throws(() => statSync(dest), { code: 'ENOENT' }, 'no partial file');

  // Without the CA file the self-signed server is not trusted either.
  const untrusted = await request(`${srv.base}/list`, dest, { ...files, caFile: null }).then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );
  t.equal(untrusted?.code, 'ROJE_ERR_FEED_NETWORK');
});

t.test(
  'an unreadable certificate, key or CA file: ROJE_ERR_FEED_TLS naming the key and the path',
  async (t) => {
    const files = certFiles(t);
    const url = 'https://127.0.0.1:9/list'; // never reached: the files are read first
    const dest = join(files.dir, 'out');
    const missing = join(files.dir, 'missing.pem');
    for (const [field, key] of [
      ['certFile', 'clientCertFile'],
      ['keyFile', 'clientKeyFile'],
      ['caFile', 'caFile'],
    ] as const) {
      await t.rejects(request(url, dest, { ...files, [field]: missing }), {
        code: 'ROJE_ERR_FEED_TLS',
        message: new RegExp(`feed "iwf" .*: the ${key} ${missing} cannot be read: ENOENT`),
      });
    }
    await t.rejects(request(url, dest, { ...files, caFile: files.dir }), {
      code: 'ROJE_ERR_FEED_TLS',
      message: /cannot be read: EISDIR/,
    });
  },
);

t.test('a certificate file that is not PEM fails the download (no hang)', async (t) => {
  const srv = await mtlsServer(t, (_req, res) => res.writeHead(200).end(LIST));
  const files = certFiles(t);
  const err = await request(`${srv.base}/list`, join(files.dir, 'out'), {
    ...files,
    certFile: join(files.dir, 'junk.pem'),
  }).then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );
  t.match(err?.code, /^ROJE_ERR_FEED_/);
  t.same(srv.seen, []);
});

t.test(
  'download rewrite: the file holds what the stage made; size and hash are of the body served',
  async (t) => {
    const server = createHttpServer((_req, res) => res.writeHead(200).end(ABUSE_CANARY_TEXT));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    const dir = t.testdir({});
    const dest = join(dir, 'out');
    const got = await download(
      {
        name: 'abuse',
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`,
        dest,
        maxBytes: 1 << 20,
        timeoutMs: 2000,
        bearerTokenFile: null,
        rewrite: () => createAbuseHashStream(KEY, 'feed "abuse"'),
      },
      { retries: 0 },
    );
    t.match(got, { status: 'ok', bytes: Buffer.byteLength(ABUSE_CANARY_TEXT) });
    const stored = readFileSync(dest, 'utf8');
    t.match(stored, new RegExp(`^#roje-hashed key=${KEY.id}\\n([dp] [0-9a-f]{64}\\n){4}$`));
    for (const s of ABUSE_CANARY_SECRETS) t.notOk(stored.includes(s), `"${s}" is not stored`);
  },
);

function logCapture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function abuseSource(url: string, tls: FeedTls | null): FeedListSource {
  return {
    name: 'iwf',
    category: 'abuse',
    path: redactUrl(url),
    feed: {
      url,
      refreshMs: 1_800_000,
      bearerTokenFile: null,
      tls,
      maxBytes: 1 << 20,
      maxShrink: 0.5,
      timeoutMs: 2000,
    },
  };
}

/** Every file under `dir`, recursively (bounded depth). */
function allFiles(dir: string, depth = 0): string[] {
  if (depth > 8) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p, depth + 1));
    else out.push(p);
  }
  return out;
}

t.test(
  'the feed manager stores a clear abuse feed hashed (over mTLS); the copy compiles and blocks',
  async (t) => {
    let body = ABUSE_CANARY_TEXT;
    const srv = await mtlsServer(t, (_req, res) =>
      res.writeHead(200, { etag: `"${body.length}"` }).end(body),
    );
    const files = certFiles(t);
    const stateDir = join(files.dir, 'state');
    const log = logCapture();
    const feeds = await createFeeds({
      sources: [abuseSource(`${srv.base}/iwf.txt`, files)],
      stateDir,
      logger: log.logger,
      abuseKey: KEY,
      download: { retries: 0 },
    });
    t.teardown(() => feeds.stop());
    const [result] = await feeds.refresh();
    t.match(result, { name: 'iwf', result: 'updated', rules: 4 }, JSON.stringify(result));
    const path = feeds.localPath('iwf');
    t.ok(path !== null);

    const stored = allFiles(stateDir);
    t.ok(
      stored.length >= 2,
      `copy and metadata stored: ${stored.map((p) => p.slice(stateDir.length)).join(', ')}`,
    );
    for (const file of stored) {
      const bytes = readFileSync(file);
      for (const s of ABUSE_CANARY_SECRETS)
        t.notOk(bytes.includes(s), `${file.slice(stateDir.length)}: "${s}" absent`);
    }
    const logs = log.lines.join('');
    for (const s of ABUSE_CANARY_SECRETS) t.notOk(logs.includes(s), `logs: "${s}" absent`);
    t.notOk(JSON.stringify(feeds.status()).includes('canary'), 'status shows no name');

    const { artifact } = await compileSources([{ name: 'iwf', category: 'abuse', path: path as string }], {
      abuse: { key: KEY, pageEntries: 'block-host' },
    });
    const lists = loadArtifact(artifact, '(test)', { abuseKey: KEY });
    t.equal(lists.hashedEntries, 3);
    const wire = (name: string) =>
      Buffer.concat([
        ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
        Buffer.from([0]),
      ]);
    for (const name of [ABUSE_CANARY.domain, `www.${ABUSE_CANARY.site}`, ABUSE_CANARY.page]) {
      t.equal(lists.lookupHashedWire(wire(name), 0), 1, `${name} blocked from the stored copy`);
    }
    t.equal(lists.lookupHashedWire(wire('example.test'), 0), 0);

    // A refresh with the same body: unchanged or not-modified, and still nothing in clear.
    const [again] = await feeds.refresh();
    t.match(again.result, /^(unchanged|not-modified)$/);
    body = `${ABUSE_CANARY_TEXT}second-canary.abuse.roje.test\n`;
    t.match((await feeds.refresh())[0], { result: 'updated', rules: 5 });
    for (const file of allFiles(stateDir)) {
      const bytes = readFileSync(file);
      t.notOk(bytes.includes('second-canary'), `${file.slice(stateDir.length)}: the new entry is hashed too`);
    }
  },
);

t.test('an abuse feed without the key fails, and stores nothing', async (t) => {
  const server = createHttpServer((_req, res) => res.writeHead(200).end(ABUSE_CANARY_TEXT));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const stateDir = t.testdir({});
  const feeds = await createFeeds({
    sources: [abuseSource(`http://127.0.0.1:${(server.address() as AddressInfo).port}/iwf.txt`, null)],
    stateDir,
    logger: logCapture().logger,
    download: { retries: 0 },
  });
  t.teardown(() => feeds.stop());
  t.match((await feeds.refresh())[0], { result: 'failed', code: 'ROJE_ERR_ABUSE_KEY' });
  for (const file of allFiles(stateDir)) {
    t.notOk(readFileSync(file).includes('canary'), `${file.slice(stateDir.length)} holds no name`);
  }
  t.equal(feeds.localPath('iwf'), null);
});

t.test('a stored copy hashed with another key is refused by the manager', async (t) => {
  const other = abuseKey(Buffer.alloc(32, 0x01));
  const hashed: Buffer[] = [];
  const s = createAbuseHashStream(other, 'x');
  s.on('data', (c: Buffer) => hashed.push(c));
  s.end(ABUSE_CANARY_TEXT);
  await once(s, 'end');
  const dir = t.testdir({});
  writeFileSync(join(dir, 'theirs.txt'), Buffer.concat(hashed));
  let requests = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    if (req.url === '/long.txt') res.writeHead(200).end(`${'a'.repeat(70 * 1024)}.test\n`);
    else res.writeHead(200).end(readFileSync(join(dir, 'theirs.txt')));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const feeds = await createFeeds({
    sources: [
      abuseSource(`${base}/iwf.txt`, null),
      { ...abuseSource(`${base}/long.txt`, null), name: 'long' },
    ],
    stateDir: join(dir, 'state'),
    logger: logCapture().logger,
    abuseKey: KEY,
    download: { retries: 2, backoffMs: 5, maxBackoffMs: 10 },
  });
  t.teardown(() => feeds.stop());
  t.match((await feeds.refresh(['iwf']))[0], {
    result: 'failed',
    code: 'ROJE_ERR_ABUSE_KEY',
    reason: new RegExp(`feed "iwf" .* was hashed with key ${other.id}`),
  });
  t.equal(requests, 1, 'final: not retried (the same bytes would come back)');
  t.equal(feeds.localPath('iwf'), null);
  t.match((await feeds.refresh(['long']))[0], { result: 'failed', code: 'ROJE_ERR_FEED_INVALID' });
  t.equal(requests, 2, 'an overlong line is final too');
});
