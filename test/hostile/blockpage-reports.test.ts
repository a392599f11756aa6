/**
 * One client flooding the block page's report form is limited on its own, while another client can
 * still report (issue #18: the shared per-minute limit alone let one device lock everyone out).
 */
import { request as httpRequest } from 'node:http';
import t from 'tap';
import { startServer } from '../helpers/blockpage.js';

const FLOODER = '127.0.0.70';
const OTHER = '127.0.0.71';

/** A report posted from `from` (the block page sees that client address); answers the status. */
function report(base: string, from: string, message: string): Promise<number> {
  const url = new URL(base);
  const body = `message=${encodeURIComponent(message)}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: '/report',
        method: 'POST',
        localAddress: from,
        headers: {
          host: 'adult.roje.test',
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'sec-fetch-site': 'same-origin',
        },
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('one client is limited per minute; another still reports', async (t) => {
  const { base, reports } = await startServer(t, {
    reportsPerMinute: 30,
    limits: { reportsPerClientPerMinute: 3 },
  });
  // Bounded: 40 posts from the flooder, one at a time.
  const flood: number[] = [];
  for (let i = 0; i < 40; i++) flood.push(await report(base, FLOODER, `flood ${i}`));
  const taken = flood.filter((s) => s === 200).length;
  // A minute boundary during the flood may open one more window: at most twice the limit.
  t.ok(taken >= 3 && taken <= 6, `the flooder got ${taken} of 40 reports through`);
  t.ok(
    flood.slice(6).every((s) => s === 429),
    'the rest were refused with 429',
  );
  t.equal(await report(base, OTHER, 'wrongly blocked, please check'), 200, 'another client still reports');
  t.ok(
    reports.some((r) => r.message === 'wrongly blocked, please check'),
    "the other client's report was stored",
  );
});

t.test('the shared limit still holds for many clients together', async (t) => {
  const { base, reports } = await startServer(t, {
    reportsPerMinute: 4,
    limits: { reportsPerClientPerMinute: 2 },
  });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push(await report(base, `127.0.0.${80 + i}`, `client ${i}`));
  t.ok(statuses.filter((s) => s === 429).length >= 1, `statuses ${statuses}`);
  t.ok(reports.length <= 8, `${reports.length} stored`);
});
