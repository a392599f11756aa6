import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { createFeeds, type FeedsOptions } from '../../src/feeds/feeds.js';
import { readFeedCopies } from '../../src/feeds/store.js';
import { type FeedListSource, redactUrl } from '../../src/feeds/types.js';
import { loadLists } from '../../src/policy/lists-loader.js';
import type { ListSource } from '../../src/policy/types.js';

// The feed manager against a real HTTP server on loopback: conditional requests, retries, timeouts,
// size caps, parse checks, the shrink guard, bearer tokens, and copies persisted across managers.

type Route = (req: IncomingMessage, res: ServerResponse) => void;

interface ListServer {
  base: string;
  routes: Map<string, Route>;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

async function listServer(t: Test): Promise<ListServer> {
  const routes = new Map<string, Route>();
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (route === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    route(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { base: `http://127.0.0.1:${port}`, routes, requests, close };
}

/** `n` domain-list rules: a.example ... */
function domains(n: number, prefix = 'd'): string {
  let out = '# a test list\n';
  for (let i = 0; i < n; i++) out += `${prefix}${i}.example\n`;
  return out;
}

/** Serves `body` with an ETag, and 304 when the client already has it. */
function withEtag(get: () => string): Route {
  return (req, res) => {
    const body = get();
    const etag = `"${Buffer.from(body).length}-${body.length % 97}-${body.slice(-12).replace(/\W/g, '')}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(body);
  };
}

function source(name: string, url: string, feed: Partial<FeedListSource['feed']> = {}): FeedListSource {
  return {
    name,
    category: 'adult',
    path: redactUrl(url),
    feed: {
      url,
      refreshMs: 3_600_000,
      bearerTokenFile: null,
      maxBytes: 1024 * 1024,
      maxShrink: 0.5,
      timeoutMs: 2000,
      ...feed,
    },
  };
}

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

function feedsFor(t: Test, sources: FeedListSource[], extra: Partial<FeedsOptions> = {}) {
  const dir = extra.stateDir ?? t.testdir({});
  const log = logCapture();
  const changes: string[][] = [];
  const made = createFeeds({
    sources,
    stateDir: dir,
    logger: log.logger,
    onChange: (names) => {
      changes.push(names);
    },
    download: { retries: 2, backoffMs: 5, maxBackoffMs: 20 },
    ...extra,
  });
  return made.then((feeds) => {
    t.teardown(() => feeds.stop());
    return { feeds, dir, changes, lines: log.lines };
  });
}

t.test('200 with an ETag, then 304: the copy is stored once and revalidated', async (t) => {
  const srv = await listServer(t);
  srv.routes.set(
    '/nsfw.txt',
    withEtag(() => domains(10)),
  );
  const { feeds, dir, changes } = await feedsFor(t, [source('nsfw', `${srv.base}/nsfw.txt`)]);
  t.same(feeds.missing(), ['nsfw']);
  t.equal(feeds.localPath('nsfw'), null);

  const [first] = await feeds.refresh();
  t.match(first, { name: 'nsfw', result: 'updated', rules: 10, previousRules: null });
  const path = feeds.localPath('nsfw');
  t.equal(path, join(dir, 'feeds', 'nsfw'));
  t.equal(readFileSync(path as string, 'utf8'), domains(10));
  const meta = JSON.parse(readFileSync(`${path}.json`, 'utf8'));
  t.match(meta, {
    url: `${srv.base}/nsfw.txt`,
    rules: 10,
    format: 'domains',
    etag: /^"/,
    bytes: domains(10).length,
  });
  t.match(meta.sha256, /^[0-9a-f]{64}$/);
  t.same(changes, [['nsfw']]);
  t.same(feeds.missing(), []);

  const [second] = await feeds.refresh(['nsfw']);
  t.match(second, { name: 'nsfw', result: 'not-modified', rules: 10 });
  t.equal(srv.requests.at(-1)?.headers['if-none-match'], meta.etag, 'conditional request');
  t.same(changes, [['nsfw']], 'no change event for a 304');

  const [status] = feeds.status();
  t.match(status, {
    name: 'nsfw',
    category: 'adult',
    url: `${srv.base}/nsfw.txt`,
    good: { rules: 10, format: 'domains', sha256: meta.sha256.slice(0, 12) },
    held: null,
    lastAttempt: { result: 'not-modified' },
    failures: 0,
  });
  t.ok(status.good !== null && status.good.ageSeconds >= 0);
});

t.test('same bytes without validators: unchanged; If-Modified-Since is sent', async (t) => {
  const srv = await listServer(t);
  srv.routes.set('/l.txt', (_req, res) => {
    res.writeHead(200, { 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT' }).end(domains(3));
  });
  const { feeds, changes } = await feedsFor(t, [source('l', `${srv.base}/l.txt`)]);
  t.match((await feeds.refresh())[0], { result: 'updated', rules: 3 });
  t.match((await feeds.refresh())[0], { result: 'unchanged', rules: 3 });
  t.equal(srv.requests.at(-1)?.headers['if-modified-since'], 'Mon, 02 Nov 2026 10:00:00 GMT');
  t.equal(changes.length, 1);
});

t.test('500 twice, then 200: retried with backoff; 404 is not retried', async (t) => {
  const srv = await listServer(t);
  let calls = 0;
  srv.routes.set('/flaky.txt', (_req, res) => {
    calls++;
    if (calls <= 2) res.writeHead(500).end('oops');
    else res.writeHead(200).end(domains(5));
  });
  const { feeds } = await feedsFor(t, [
    source('flaky', `${srv.base}/flaky.txt`),
    source('gone', `${srv.base}/gone.txt`),
  ]);
  const [flaky, gone] = await feeds.refresh();
  t.match(flaky, { result: 'updated', rules: 5 });
  t.equal(calls, 3);
  t.match(gone, { result: 'failed', code: 'ROJE_ERR_FEED_HTTP', reason: /feed "gone" .* answered HTTP 404/ });
  t.equal(srv.requests.filter((r) => r.url === '/gone.txt').length, 1, '404 is final');
  t.match(feeds.status()[1], {
    good: null,
    failures: 1,
    lastAttempt: { result: 'failed', code: 'ROJE_ERR_FEED_HTTP' },
  });

  // Always 500: the bounded retries run out.
  calls = -100;
  const [down] = await feeds.refresh(['flaky']);
  t.match(down, { result: 'failed', code: 'ROJE_ERR_FEED_HTTP', reason: /HTTP 500 \(after 3 attempts\)/ });
  t.equal(feeds.status()[0].good?.rules, 5, 'the last good copy stays');
});

t.test('429 with Retry-After is retried', async (t) => {
  const srv = await listServer(t);
  let calls = 0;
  srv.routes.set('/busy.txt', (_req, res) => {
    calls++;
    if (calls === 1) res.writeHead(429, { 'retry-after': '0' }).end();
    else res.writeHead(200).end(domains(2));
  });
  const { feeds } = await feedsFor(t, [source('busy', `${srv.base}/busy.txt`)]);
  t.match((await feeds.refresh())[0], { result: 'updated', rules: 2 });
  t.equal(calls, 2);
});

t.test('a server that does not answer in time fails with ROJE_ERR_FEED_TIMEOUT', async (t) => {
  const srv = await listServer(t);
  srv.routes.set('/ok.txt', (_req, res) => res.writeHead(200).end(domains(4)));
  srv.routes.set('/slow.txt', (_req, res) => {
    const timer = setTimeout(() => res.writeHead(200).end(domains(4)), 5000);
    res.on('close', () => clearTimeout(timer));
  });
  srv.routes.set('/stall.txt', (_req, res) => {
    res.writeHead(200);
    res.write('a.example\n');
    const timer = setTimeout(() => res.end('b.example\n'), 5000);
    res.on('close', () => clearTimeout(timer));
  });
  const { feeds } = await feedsFor(
    t,
    [
      source('slow', `${srv.base}/ok.txt`, { timeoutMs: 200 }),
      source('stall', `${srv.base}/stall.txt`, { timeoutMs: 200 }),
    ],
    { download: { retries: 1, backoffMs: 5 } },
  );
  t.match((await feeds.refresh(['slow']))[0], { result: 'updated' });
  srv.routes.set('/ok.txt', srv.routes.get('/slow.txt') as Route);
  const [slow, stall] = await feeds.refresh();
  t.match(slow, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_TIMEOUT',
    reason: /did not answer within its timeout of 200 ms/,
  });
  t.match(stall, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_TIMEOUT',
    reason: /sent no data within its timeout/,
  });
  t.equal(srv.requests.filter((r) => r.url === '/ok.txt').length, 3, 'one retry after the first success');
  t.equal(feeds.status()[0].good?.rules, 4, 'the last good copy stays');
  t.equal(feeds.localPath('stall'), null);
});

t.test('too big: cut off at maxBytes, with or without Content-Length; the last good stays', async (t) => {
  const srv = await listServer(t);
  const big = domains(2000);
  srv.routes.set('/sized.txt', (_req, res) => res.writeHead(200, { 'content-length': big.length }).end(big));
  srv.routes.set('/chunked.txt', (_req, res) => {
    res.writeHead(200);
    // Written in pieces with no Content-Length: only the streaming count can stop it.
    for (let i = 0; i < 20; i++) res.write(domains(100, `c${i}-`));
    res.end();
  });
  srv.routes.set('/small.txt', (_req, res) => res.writeHead(200).end(domains(3)));
  const { feeds, dir } = await feedsFor(t, [
    source('sized', `${srv.base}/small.txt`, { maxBytes: 4096 }),
    source('chunked', `${srv.base}/chunked.txt`, { maxBytes: 4096 }),
  ]);
  t.match((await feeds.refresh(['sized']))[0], { result: 'updated', rules: 3 });
  srv.routes.set('/small.txt', srv.routes.get('/sized.txt') as Route);
  const [sized, chunked] = await feeds.refresh();
  t.match(sized, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_TOO_LARGE',
    reason: /Content-Length.*maxBytes 4096/,
  });
  t.match(chunked, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_TOO_LARGE',
    reason: /more than its maxBytes 4096 bytes/,
  });
  t.equal(readFileSync(feeds.localPath('sized') as string, 'utf8'), domains(3));
  const { readdirSync } = await import('node:fs');
  t.same(readdirSync(join(dir, 'feeds')).sort(), ['sized', 'sized.json'], 'no partial or temp files left');
});

t.test('garbage parses to zero rules: failed, the last good copy kept', async (t) => {
  const srv = await listServer(t);
  let body = domains(6);
  srv.routes.set('/list.txt', (_req, res) => res.writeHead(200).end(body));
  const typed = { ...source('typed', `${srv.base}/list.txt`), format: 'domains' as const };
  const { feeds, changes } = await feedsFor(t, [source('list', `${srv.base}/list.txt`), typed]);
  await feeds.refresh();
  const before = readFileSync(feeds.localPath('list') as string, 'utf8');

  body = '<html><body><h1>Service temporarily unavailable</h1><p>Try again later.</p></body></html>\n';
  const [html] = await feeds.refresh(['list']);
  t.match(html, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_INVALID',
    reason: /^feed "list" \(http:.*\): the download is not a usable list: cannot detect its format/,
  });
  t.notMatch((html as { reason: string }).reason, /\.tmp/, 'the temp file is not named');
  body = '# only comments\n# nothing else\n';
  const [auto, empty] = await feeds.refresh();
  t.match(auto, { result: 'failed', code: 'ROJE_ERR_FEED_INVALID' });
  t.match(empty, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_INVALID',
    reason: /holds no rules \(2 lines, 0 skipped as domains\)/,
  });
  t.equal(readFileSync(feeds.localPath('list') as string, 'utf8'), before);
  t.equal(readFileSync(feeds.localPath('typed') as string, 'utf8'), before);
  t.match(feeds.status(), [{ good: { rules: 6 } }, { good: { rules: 6 } }]);
  t.equal(changes.length, 1);
});

t.test(
  'a truncated body (connection closed before Content-Length): failed, the last good kept',
  async (t) => {
    const srv = await listServer(t);
    let truncate = false;
    srv.routes.set('/list.txt', (_req, res) => {
      const body = domains(50);
      if (!truncate) {
        res.writeHead(200).end(body);
        return;
      }
      // Announce the whole list, send a third of it, then drop the connection.
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.write(body.slice(0, Math.floor(body.length / 3)));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { feeds, changes } = await feedsFor(t, [source('list', `${srv.base}/list.txt`)]);
    await feeds.refresh();
    const before = readFileSync(feeds.localPath('list') as string, 'utf8');
    truncate = true;
    const [cut] = await feeds.refresh();
    t.match(cut, { result: 'failed', code: /^ROJE_ERR_FEED_(NETWORK|INVALID)$/ });
    t.equal(readFileSync(feeds.localPath('list') as string, 'utf8'), before, 'the good copy is untouched');
    t.match(feeds.status(), [{ good: { rules: 50 }, lastAttempt: { result: 'failed' } }]);
    t.equal(changes.length, 1, 'no change event for the truncated copy');
  },
);

t.test('redirects are followed; the token does not follow to another origin', async (t) => {
  const srv = await listServer(t);
  const other = await listServer(t);
  srv.routes.set('/moved.txt', (_req, res) => res.writeHead(302, { location: '/final.txt' }).end());
  srv.routes.set('/final.txt', (req, res) =>
    res.writeHead(200).end(domains(req.headers.authorization ? 5 : 1)),
  );
  srv.routes.set('/away.txt', (_req, res) =>
    res.writeHead(301, { location: `${other.base}/there.txt` }).end(),
  );
  other.routes.set('/there.txt', (req, res) =>
    res.writeHead(200).end(domains(req.headers.authorization ? 5 : 2)),
  );
  for (let i = 0; i < 8; i++) {
    srv.routes.set(`/hop${i}.txt`, (_req, res) => res.writeHead(302, { location: `/hop${i + 1}.txt` }).end());
  }
  srv.routes.set('/loop.txt', (_req, res) => res.writeHead(302, { location: '/loop.txt' }).end());
  const dir = t.testdir({ token: 'tok\n' });
  const bearerTokenFile = join(dir, 'token');
  const { feeds } = await feedsFor(
    t,
    [
      source('moved', `${srv.base}/moved.txt`, { bearerTokenFile }),
      source('away', `${srv.base}/away.txt`, { bearerTokenFile }),
      source('loop', `${srv.base}/loop.txt`),
      source('hops', `${srv.base}/hop0.txt`),
    ],
    { stateDir: dir },
  );
  const [moved, away, loop, hops] = await feeds.refresh();
  t.match(moved, { result: 'updated', rules: 5 }, 'same origin: the token is sent');
  t.match(away, { result: 'updated', rules: 2 }, 'another origin: no token');
  t.equal(other.requests[0]?.headers.authorization, undefined);
  t.match(loop, { result: 'failed', code: 'ROJE_ERR_FEED_HTTP', reason: /Redirect loop/ });
  t.match(hops, { result: 'failed', code: 'ROJE_ERR_FEED_HTTP', reason: /HTTP 302: more than 5 redirects/ });
  t.equal(srv.requests.filter((r) => r.url === '/loop.txt').length, 1, 'not retried');
});

t.test('a server dripping bytes runs into the per-attempt deadline', async (t) => {
  const srv = await listServer(t);
  srv.routes.set('/drip.txt', (_req, res) => {
    res.writeHead(200);
    let i = 0;
    const timer = setInterval(() => res.write(`drip${i++}.example\n`), 20);
    res.on('close', () => clearInterval(timer));
  });
  const { feeds } = await feedsFor(t, [source('drip', `${srv.base}/drip.txt`, { timeoutMs: 200 })], {
    download: { retries: 0, deadlineFactor: 2 },
  });
  const [drip] = await feeds.refresh();
  t.match(drip, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_TIMEOUT',
    reason: /did not finish within 400 ms after \d+ bytes/,
  });
});

t.test('gzip content-encoding is undone transparently', async (t) => {
  const srv = await listServer(t);
  srv.routes.set('/z.txt', (req, res) => {
    t.match(req.headers['accept-encoding'], /gzip/);
    res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(domains(7)));
  });
  const { feeds } = await feedsFor(t, [source('z', `${srv.base}/z.txt`)]);
  t.match((await feeds.refresh())[0], { result: 'updated', rules: 7 });
  t.equal(readFileSync(feeds.localPath('z') as string, 'utf8'), domains(7));
});

t.test('shrink by 60%: held; accept promotes it; reject discards it', async (t) => {
  const srv = await listServer(t);
  let body = domains(10);
  srv.routes.set(
    '/s.txt',
    withEtag(() => body),
  );
  const { feeds, changes, dir } = await feedsFor(t, [source('s', `${srv.base}/s.txt`)]);
  await feeds.refresh();
  const good = feeds.localPath('s') as string;

  body = domains(4, 'small');
  t.match((await feeds.refresh())[0], { result: 'held', rules: 4, previousRules: 10 });
  t.equal(readFileSync(good, 'utf8'), domains(10), 'the good copy stays in force');
  t.ok(existsSync(join(dir, 'feeds', 's.held')));
  t.match(feeds.status()[0], { good: { rules: 10 }, held: { rules: 4, previousRules: 10 } });
  t.equal(changes.length, 1);
  // The same shrunken copy again: still held, nothing rewritten.
  t.match((await feeds.refresh())[0], { result: 'held', rules: 4 });

  await feeds.accept('s');
  t.equal(readFileSync(good, 'utf8'), domains(4, 'small'));
  t.notOk(existsSync(join(dir, 'feeds', 's.held')));
  t.match(feeds.status()[0], { good: { rules: 4 }, held: null });
  t.same(changes.at(-1), ['s']);
  // Its ETag came along: the server's current copy is now the good one.
  t.match((await feeds.refresh())[0], { result: 'not-modified', rules: 4 });

  // A shrink of exactly 50% passes; below it is held, and rejected.
  body = domains(2, 'half');
  t.match((await feeds.refresh())[0], { result: 'updated', rules: 2 });
  body = domains(10, 'grow');
  t.match((await feeds.refresh())[0], { result: 'updated', rules: 10 });
  body = domains(3, 'again');
  t.match((await feeds.refresh())[0], { result: 'held', rules: 3 });
  const changesBefore = changes.length;
  await feeds.reject('s');
  t.notOk(existsSync(join(dir, 'feeds', 's.held')));
  t.notOk(existsSync(join(dir, 'feeds', 's.held.json')));
  t.match(feeds.status()[0], { good: { rules: 10 }, held: null });
  t.equal(changes.length, changesBefore, 'reject changes nothing in force');
  await t.rejects(feeds.reject('s'), { code: 'ROJE_ERR_FEED_NOT_HELD' });
  await t.rejects(feeds.accept('s'), { code: 'ROJE_ERR_FEED_NOT_HELD' });
  await t.rejects(feeds.accept('nope'), { code: 'ROJE_ERR_FEED_UNKNOWN' });
  await t.rejects(feeds.refresh(['nope']), {
    code: 'ROJE_ERR_FEED_UNKNOWN',
    message: /no list feed is named "nope"/,
  });

  // The publisher goes back to the good copy while one is held: the held copy is dropped.
  body = domains(1, 'tiny');
  t.match((await feeds.refresh())[0], { result: 'held' });
  body = domains(10, 'grow');
  t.match((await feeds.refresh())[0], { result: 'not-modified' });
  t.equal(feeds.status()[0].held, null);
});

t.test('maxShrink 0 holds any shrink; 1 never holds', async (t) => {
  const srv = await listServer(t);
  let body = domains(10);
  srv.routes.set('/a.txt', (_req, res) => res.writeHead(200).end(body));
  const { feeds } = await feedsFor(t, [
    source('strict', `${srv.base}/a.txt`, { maxShrink: 0 }),
    source('lax', `${srv.base}/a.txt`, { maxShrink: 1 }),
  ]);
  await feeds.refresh();
  body = domains(9);
  const [strict, lax] = await feeds.refresh();
  t.match(strict, { result: 'held', rules: 9 });
  t.match(lax, { result: 'updated', rules: 9 });
});

t.test('bearer token: sent, never logged or put in a message', async (t) => {
  const srv = await listServer(t);
  const TOKEN = 's3cr3t-T0KEN-value';
  srv.routes.set('/private.txt', (req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end(`bad token ${req.headers.authorization}`);
      return;
    }
    res.writeHead(200).end(domains(3));
  });
  const dir = t.testdir({ 'token.txt': `${TOKEN}\n`, 'wrong.txt': 'nope\n', 'two-lines.txt': 'a\nb\n' });
  const { feeds, lines } = await feedsFor(
    t,
    [
      source('private', `${srv.base}/private.txt?key=${TOKEN}`, { bearerTokenFile: join(dir, 'token.txt') }),
      source('wrong', `${srv.base}/private.txt`, { bearerTokenFile: join(dir, 'wrong.txt') }),
      source('nofile', `${srv.base}/private.txt`, { bearerTokenFile: join(dir, 'missing.txt') }),
      source('bad', `${srv.base}/private.txt`, { bearerTokenFile: join(dir, 'two-lines.txt') }),
    ],
    { stateDir: dir },
  );
  const [ok, wrong, nofile, bad] = await feeds.refresh();
  t.match(ok, { result: 'updated', rules: 3 });
  t.match(wrong, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_HTTP',
    reason: /HTTP 401: check the bearerTokenFile/,
  });
  t.match(nofile, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_TOKEN',
    reason: /missing\.txt cannot be read: ENOENT/,
  });
  t.match(bad, { result: 'failed', code: 'ROJE_ERR_FEED_TOKEN', reason: /one token on one line/ });
  t.equal(
    srv.requests.filter((r) => r.url?.startsWith('/private.txt')).length,
    2,
    'no request without a token',
  );
  const all = lines.join('') + JSON.stringify(feeds.status()) + JSON.stringify([ok, wrong, nofile, bad]);
  t.notMatch(all, TOKEN, 'the token appears in no log line, status or result');
  t.match(feeds.status()[0].url, /\?key=REDACTED$/);
  t.ok(
    lines.some((l) => l.includes('"feed":"wrong"')),
    'failures are logged',
  );
});

t.test('a fresh manager uses the persisted copy when the server is down', async (t) => {
  const srv = await listServer(t);
  srv.routes.set(
    '/p.txt',
    withEtag(() => domains(8)),
  );
  const stateDir = t.testdir({ 'local.txt': 'local.example\n' });
  const sources = [source('p', `${srv.base}/p.txt`)];
  const first = await feedsFor(t, sources, { stateDir });
  await first.feeds.refresh();
  await first.feeds.stop();
  await srv.close();

  const second = await feedsFor(t, sources, { stateDir, download: { retries: 1, backoffMs: 5 } });
  t.equal(second.feeds.localPath('p'), join(stateDir, 'feeds', 'p'));
  t.match(second.feeds.status()[0], { good: { rules: 8 }, lastAttempt: null });
  const [down] = await second.feeds.refresh();
  t.match(down, {
    result: 'failed',
    code: 'ROJE_ERR_FEED_NETWORK',
    reason: /feed "p" .*cannot be fetched.*ECONNREFUSED/,
  });
  t.same(second.feeds.missing(), []);

  // The lists loader compiles the feed from that copy, alongside a file source.
  const lists: ListSource[] = [
    ...sources,
    { name: 'local', category: 'gambling', path: join(stateDir, 'local.txt') },
  ];
  const loaded = await loadLists({ lists, compiled: null }, { feeds: second.feeds });
  t.same(loaded.missing, []);
  t.equal(loaded.lists.entries, 9);
  t.equal(loaded.lists.lookup('www.d3.example').blocked, 1);
  t.equal(loaded.report?.sources[0].path, join(stateDir, 'feeds', 'p'));

  // Without a manager (roje compile, check-config): the copies on disk, read as they are.
  const onDisk = await readFeedCopies(stateDir, ['p', 'other']);
  t.equal(onDisk.localPath('p'), join(stateDir, 'feeds', 'p'));
  t.equal(onDisk.localPath('other'), null);
  t.equal((await readFeedCopies(join(stateDir, 'nowhere'), ['p'])).localPath('p'), null);

  // A metadata file that does not match its data (a crash between the two renames) is not trusted.
  writeFileSync(join(stateDir, 'feeds', 'p'), 'changed.example\n');
  const third = await feedsFor(t, sources, { stateDir });
  t.same(third.feeds.missing(), ['p']);
});

t.test('lists loader: a feed without a good copy is reported missing, the rest compiles', async (t) => {
  const dir = t.testdir({ 'local.txt': 'local.example\n' });
  const lists: ListSource[] = [
    source('never', 'https://lists.invalid/never.txt'),
    { name: 'local', category: 'gambling', path: join(dir, 'local.txt') },
  ];
  const none = await loadLists({ lists, compiled: null });
  t.same(none.missing, ['never'], 'no feed manager: every feed is missing');
  t.equal(none.lists.entries, 1);
  const feeds = { localPath: () => null };
  t.same((await loadLists({ lists, compiled: null }, { feeds })).missing, ['never']);
  t.same((await loadLists({ lists: [], compiled: null })).missing, []);
});

t.test('start(): a source without a copy is fetched at once; stop() cancels', async (t) => {
  const srv = await listServer(t);
  srv.routes.set('/auto.txt', (_req, res) => res.writeHead(200).end(domains(2)));
  let notified: (names: string[]) => void = () => {};
  const changed = new Promise<string[]>((resolve) => {
    notified = resolve;
  });
  const { feeds } = await feedsFor(t, [source('auto', `${srv.base}/auto.txt`)], {
    onChange: (n) => notified(n),
  });
  feeds.start();
  const timeout = setTimeout(() => notified(['timed out']), 10_000);
  t.same(await changed, ['auto']);
  clearTimeout(timeout);
  const next = feeds.status()[0].nextRefreshAt;
  t.ok(next !== null && Date.parse(next) > Date.now() + 3_000_000, 'next refresh about an hour later');
  await feeds.stop();
  t.equal(feeds.status()[0].nextRefreshAt, null);
});

t.test('stop() cancels a download in flight and a backoff wait', async (t) => {
  const srv = await listServer(t);
  srv.routes.set('/hang.txt', (_req, res) => {
    const timer = setTimeout(() => res.writeHead(200).end(domains(1)), 10_000);
    res.on('close', () => clearTimeout(timer));
  });
  srv.routes.set('/err.txt', (_req, res) => res.writeHead(503).end());
  const { feeds } = await feedsFor(
    t,
    [source('hang', `${srv.base}/hang.txt`, { timeoutMs: 5000 }), source('err', `${srv.base}/err.txt`)],
    { download: { retries: 5, backoffMs: 5000, maxBackoffMs: 5000 } },
  );
  const pending = feeds.refresh();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  await feeds.stop();
  const [hang, err] = await pending;
  t.ok(Date.now() - started < 3000, 'stop() does not wait for the server or the backoff');
  t.match(hang, { result: 'failed', reason: /download cancelled \(roje is stopping\)/ });
  t.match(err, { result: 'failed', reason: /download cancelled/ });
});

t.test('redactUrl drops credentials and query values', async (t) => {
  t.equal(
    redactUrl('https://u:p@lists.example/a.txt?key=abc&x=1#frag'),
    'https://lists.example/a.txt?key=REDACTED&x=REDACTED',
  );
  t.equal(redactUrl('http://lists.example/a.txt'), 'http://lists.example/a.txt');
  t.equal(redactUrl('not a url'), '(not a valid URL)');
});
