import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { createBlockPageServer, hostOf } from '../../src/blockpage/server.js';
import { isRojeError } from '../../src/errors.js';
import { startServer } from '../helpers/blockpage.js';
import { BLOCKPAGE_ABUSE_CANARY } from '../helpers/canaries.js';

const FORM = 'application/x-www-form-urlencoded';

async function get(base: string, path: string, headers: Record<string, string>) {
  const res = await request(`${base}${path}`, { headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

async function post(base: string, host: string, body: string, headers: Record<string, string> = {}) {
  const res = await request(`${base}/report`, {
    method: 'POST',
    headers: { host, 'content-type': FORM, 'sec-fetch-site': 'same-origin', ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function checkHeaders(t: Test, headers: Record<string, unknown>): void {
  t.equal(headers['cache-control'], 'no-store');
  t.match(
    String(headers['content-security-policy']),
    /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/,
  );
  t.match(String(headers['content-security-policy']), /form-action 'self'/);
  t.equal(headers['x-content-type-options'], 'nosniff');
  t.equal(headers['referrer-policy'], 'no-referrer');
}

t.test('the page follows Accept-Language and ?lang=', async (t) => {
  const { base } = await startServer(t);
  const host = 'adult.roje.test';
  const sq = await get(base, '/', { host });
  t.equal(sq.status, 403);
  t.match(sq.body, '<html lang="sq">', 'Albanian without Accept-Language');
  t.match(sq.body, 'Kjo faqe është e bllokuar');
  const en = await get(base, '/', { host, 'accept-language': 'en-GB,en;q=0.9' });
  t.match(en.body, '<html lang="en">');
  t.match(en.body, 'This site is blocked');
  const byQ = await get(base, '/', { host, 'accept-language': 'en;q=0.5, sq-AL;q=0.8, de' });
  t.match(byQ.body, '<html lang="sq">', 'sq-AL outranks en by q');
  const unknown = await get(base, '/', { host, 'accept-language': 'de-DE,fr;q=0.9' });
  t.match(unknown.body, '<html lang="sq">', 'falls back to sq');
  const switched = await get(base, '/some/page?lang=en&x=1', { host, 'accept-language': 'sq' });
  t.match(switched.body, '<html lang="en">', '?lang= wins over the header');
  t.match(switched.body, 'href="?lang=sq" hreflang="sq" lang="sq">Shqip</a>', 'switch link to Albanian');
  t.match(switched.body, 'aria-current="true">English</a>');
});

t.test('the page names the category, the venue and the operator, and points to help', async (t) => {
  const { base, explained } = await startServer(t);
  const page = await get(base, '/a/b?c=d', { host: 'ADULT.roje.test.:80', 'accept-language': 'en' });
  t.equal(page.status, 403);
  t.same(explained, ['adult.roje.test 127.0.0.1'], 'explain gets the normalized name and the client address');
  t.match(page.body, '<dd>adult.roje.test</dd>');
  t.match(page.body, '<dt>Category</dt><dd>Adult content</dd>');
  t.match(page.body, '<dt>Network</dt><dd>Biblioteka Kombëtare</dd>');
  t.match(page.body, '<dt>Provided by</dt><dd>Bashkia Tiranë</dd>');
  t.match(page.body, 'href="tel:116111"');
  t.match(page.body, 'ALO 116 111');
  t.match(page.body, 'href="https://aksk.gov.al/"');
  t.match(page.body, '<form method="post" action="/report">');
  t.match(page.body, '<label for="message">');
  t.match(page.body, 'name="viewport"');
  t.notMatch(page.body, /<script|<link|src=/, 'no script or external asset');
  const two = await get(base, '/', { host: 'bet.roje.test', 'accept-language': 'sq' });
  t.match(
    two.body,
    '<dt>Kategoritë</dt><dd>Lojëra fati dhe baste, Custom x</dd>',
    'a category with no display name: readable, never its raw id',
  );
  t.notMatch(two.body, '<dt>Rrjeti</dt>', 'no venue row without a venue');
  checkHeaders(t, page.headers);
});

t.test('a host name is escaped on the page', async (t) => {
  const { base } = await startServer(
    t,
    {},
    {
      explain: () => ({ categories: ['<b>x</b>'], venue: '"><script>', confidential: false }),
    },
  );
  const page = await get(base, '/', { host: 'x.roje.test' });
  t.notMatch(page.body, '<script>');
  t.match(page.body, '&lt;b&gt;x&lt;/b&gt;');
  t.match(page.body, '&quot;&gt;&lt;script&gt;');
});

t.test('the abuse page never shows the name, and nothing logs it', async (t) => {
  const { base, logs, reports } = await startServer(t);
  for (const lang of ['sq', 'en']) {
    const page = await get(base, `/secret/${BLOCKPAGE_ABUSE_CANARY}/img.jpg?lang=${lang}`, {
      host: BLOCKPAGE_ABUSE_CANARY,
    });
    t.equal(page.status, 403);
    t.notMatch(page.body, 'canary-abuse', `${lang}: no name in the page`);
    t.notMatch(JSON.stringify(page.headers), 'canary-abuse', `${lang}: no name in the headers`);
    t.notMatch(page.body, '<form', 'no report form');
    t.notMatch(page.body, 'Biblioteka', 'no venue either');
    checkHeaders(t, page.headers);
  }
  const en = await get(base, '/?lang=en', { host: BLOCKPAGE_ABUSE_CANARY });
  t.match(
    en.body,
    'Access has been denied by your internet access provider because this page may contain indecent images of children as identified by the Internet Watch Foundation.',
  );
  t.match(en.body, 'If you think this page has been blocked in error, please contact');
  t.match(en.body, 'href="https://troubled-desire.com/"', 'help for people worried about their thoughts');
  const unflagged = await get(base, '/', { host: 'unflagged-abuse.roje.test' });
  t.match(unflagged.body, 'Internet Watch Foundation', 'the abuse category alone makes a page confidential');
  t.notMatch(unflagged.body, 'unflagged-abuse');
  const report = await post(base, BLOCKPAGE_ABUSE_CANARY, `message=${BLOCKPAGE_ABUSE_CANARY}&lang=en`);
  t.equal(report.status, 403, 'no report taken for a confidential block');
  t.notMatch(report.body, 'canary-abuse');
  t.same(reports, [], 'nothing stored');
  const head = await request(`${base}/`, { method: 'HEAD', headers: { host: BLOCKPAGE_ABUSE_CANARY } });
  await head.body.text();
  t.equal(head.statusCode, 403);
  t.notMatch(logs.join(''), 'canary-abuse', 'no log line holds the name');
});

t.test('a report is stored; bad ones get a 4xx page and are not', async (t) => {
  const { base, reports } = await startServer(t, { maxMessageLength: 50 });
  const host = 'adult.roje.test';
  const ok = await post(base, host, `lang=en&message=${encodeURIComponent(' school site\r\nplease\u0007 ')}`);
  t.equal(ok.status, 200);
  t.match(ok.body, 'Thank you!');
  checkHeaders(t, ok.headers);
  t.same(reports, [
    {
      host,
      category: 'adult',
      categories: ['adult'],
      venue: 'Biblioteka Kombëtare',
      message: 'school site\nplease',
      lang: 'en',
    },
  ]);
  const empty = await post(base, host, '');
  t.equal(empty.status, 200, 'an empty message is a report too');
  t.equal(reports.length, 2);

  const bad: Array<[string, string, Record<string, string>?]> = [
    ['unknown language', 'lang=de&message=x'],
    ['unknown field', 'message=x&host=evil.example'],
    ['repeated field', 'message=a&message=b'],
    ['too long', `message=${'ë'.repeat(51)}`],
    ['json', '{"message":"x"}', { 'content-type': 'application/json' }],
    ['text', 'message=x', { 'content-type': 'text/plain' }],
    ['cross-site', 'message=x', { 'sec-fetch-site': 'cross-site' }],
    ['other origin', 'message=x', { origin: 'http://evil.example' }],
  ];
  for (const [what, body, headers] of bad) {
    const res = await post(base, host, body, headers);
    t.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status}`);
    t.match(res.headers['content-type'], 'text/html', `${what}: an HTML page`);
    checkHeaders(t, res.headers);
  }
  const sameOrigin = await post(base, host, 'message=y', { origin: `http://${host}` });
  t.equal(sameOrigin.status, 200, 'an Origin naming the same Host is fine');
  const nullOrigin = await post(base, host, 'message=z', { origin: 'null' });
  t.equal(nullOrigin.status, 200, 'Origin null (no-referrer) is fine');
  const huge = await post(base, host, `message=${'x'.repeat(2_000_000)}`);
  t.equal(huge.status, 413, 'an oversized body');
  t.match(huge.body, 'Mesazhi është shumë i gjatë');
  const notBlocked = await post(base, 'free.roje.test', 'message=x');
  t.equal(notBlocked.status, 404, 'nothing to report for a name that is not blocked');
  t.equal(reports.length, 4, 'only the valid reports were stored');
});

t.test('reports are rate limited and can be switched off', async (t) => {
  const { base, reports } = await startServer(t, { reportsPerMinute: 2 });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await post(base, 'adult.roje.test', `message=${i}`)).status);
  // A minute boundary between the posts could reset the window once; at most 3 then get through.
  t.ok(statuses.filter((s) => s === 429).length >= 1, `got ${statuses}`);
  t.ok(reports.length <= 3);
  const off = await startServer(t, {}, { onReport: null });
  const page = await get(off.base, '/', { host: 'adult.roje.test' });
  t.notMatch(page.body, '<form', 'no form without a report store');
  t.equal((await post(off.base, 'adult.roje.test', 'message=x')).status, 403);
});

t.test('names that are not blocked get the neutral page', async (t) => {
  const { base, explained } = await startServer(t);
  for (const host of ['free.roje.test', '127.0.0.1', '[::1]:80', 'bad_host..x', '']) {
    const page = await get(base, '/', { host, 'accept-language': 'en' });
    t.equal(page.status, 404, `host ${JSON.stringify(host)}`);
    t.match(page.body, 'Nothing is blocked here');
    checkHeaders(t, page.headers);
  }
  t.same(explained, ['free.roje.test 127.0.0.1'], 'IP literals and junk never reach explain');
  const put = await request(`${base}/`, { method: 'PUT', headers: { host: 'adult.roje.test' } });
  t.equal(put.statusCode, 404);
  checkHeaders(t, put.headers);
  await put.body.text();
  const icon = await request(`${base}/favicon.ico`, { headers: { host: 'adult.roje.test' } });
  t.equal(icon.statusCode, 404);
  t.equal(await icon.body.text(), '');
});

t.test('HEAD works on any path', async (t) => {
  const { base } = await startServer(t);
  const res = await request(`${base}/x/y?z=1`, { method: 'HEAD', headers: { host: 'adult.roje.test' } });
  t.equal(res.statusCode, 403);
  t.equal(await res.body.text(), '');
  t.match(res.headers['content-type'], 'text/html');
  checkHeaders(t, res.headers);
});

t.test('a failing explain gives 503 and logs no name', async (t) => {
  const { base, logs } = await startServer(
    t,
    {},
    {
      explain: () => {
        throw new Error('lists broken for secret.roje.test');
      },
    },
  );
  const page = await get(base, '/', { host: 'secret.roje.test' });
  t.equal(page.status, 503);
  t.match(logs.join(''), 'block page explain failed');
  t.notMatch(logs.join(''), 'secret.roje.test');
});

t.test('TLS connections to the block page address are reset at once', async (t) => {
  const { server } = await startServer(t, { refuseTls: [{ host: '127.0.0.1', port: 0 }] });
  const [{ port }] = server.refusing();
  const started = performance.now();
  const err = await new Promise<Error | null>((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'adult.roje.test',
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, 1000);
    socket.on('secureConnect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(new Error('handshake succeeded'));
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  t.ok(err !== null, 'the TLS connect failed within 1 s');
  t.not(err?.message, 'handshake succeeded');
  t.ok(performance.now() - started < 1000);
});

t.test('a taken port fails start with ROJE_ERR_LISTEN_FAILED and leaves nothing open', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const taken = (blocker.address() as { port: number }).port;
  const server = createBlockPageServer(
    { listen: [{ host: '127.0.0.1', port: 0 }], refuseTls: [{ host: '127.0.0.1', port: taken }] },
    { explain: () => null, logger: pino({ level: 'silent' }) },
  );
  const err = await server.start().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRojeError(err, 'ROJE_ERR_LISTEN_FAILED'), String(err));
  t.match(String(err), /blockPage\.refuseTls 127\.0\.0\.1:\d+: EADDRINUSE/);
  t.same(server.addresses(), [], 'the HTTP listener it opened was closed');
  const http = createBlockPageServer(
    { listen: [{ host: '127.0.0.1', port: taken }] },
    { explain: () => null, logger: pino({ level: 'silent' }) },
  );
  await t.rejects(http.start(), /blockPage\.listen 127\.0\.0\.1:\d+: EADDRINUSE/);
});

t.test('bad options are refused with ROJE_ERR_BLOCKPAGE_OPTIONS', async (t) => {
  const deps = { explain: () => null, logger: pino({ level: 'silent' }) };
  const cases = [
    { help: { reportPortal: { url: 'javascript:alert(1)' } } },
    { help: { worriedHelp: { url: 'not a url' } } },
    { help: { helpline: { number: '116 111; drop' } } },
    { maxMessageLength: 0 },
    { reportsPerMinute: -1 },
  ];
  for (const extra of cases) {
    let err: unknown = null;
    try {
      createBlockPageServer({ listen: [], ...extra }, deps);
    } catch (e) {
      err = e;
    }
    t.ok(isRojeError(err, 'ROJE_ERR_BLOCKPAGE_OPTIONS'), `${JSON.stringify(extra)}: ${err}`);
  }
});

t.test('hostOf', async (t) => {
  t.equal(hostOf('Adult.Roje.Test.:8080'), 'adult.roje.test');
  t.equal(hostOf('shqipëri.roje.test'), 'xn--shqipri-vya.roje.test');
  t.equal(hostOf('192.0.2.1'), null);
  t.equal(hostOf('[2001:db8::1]:80'), null);
  t.equal(hostOf(undefined), null);
  t.equal(hostOf('a b.test'), null);
  t.equal(hostOf(`${'a'.repeat(300)}.test`), null);
});
