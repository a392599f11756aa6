/**
 * The transparency report's HTML in Debian's headless chromium, served over loopback with its CSP:
 * every section renders, the inline style is allowed, nothing is fetched. ROJE_UPDATE_SCREENSHOTS=1
 * writes docs/transparency-report.png for the README.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { renderReportHtml, reportCsp } from '../../src/report/html.js';
import { buildTransparencyReport } from '../../src/report/transparency.js';
import { BROWSER_TEST, openContext } from '../helpers/browser.js';
import { pngInfo } from '../helpers/png.js';
import { source } from '../helpers/report-sample.js';

const UPDATE = process.env.ROJE_UPDATE_SCREENSHOTS === '1';
const SHOTS = join(import.meta.dirname, '..', '..', 'docs');

t.test('the report renders in chromium under its CSP', BROWSER_TEST, async (t) => {
  const report = await buildTransparencyReport(source(), {
    month: '2026-10',
    operator: { sq: 'Bashkia e Tiranës', en: 'Tirana Municipality' },
    timeZone: 'Europe/Tirane',
    now: Date.parse('2026-11-02T09:00:00Z'),
  });
  const html = renderReportHtml(report);
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': reportCsp(),
    });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const { page, blocked, errors } = await openContext(t, { viewport: { width: 1000, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/`);
  t.equal(await page.locator('h2').count(), 7, 'seven sections');
  t.match(await page.locator('dl.meta').innerText(), /Europe\/Tirane/, 'the zone is stated');
  t.match(await page.locator('h1').innerText(), /Raport transparence.*DNS filter transparency report/s);
  // The style applied (the CSP hash matches): headings take the accent colour.
  t.equal(
    await page
      .locator('h1')
      .evaluate(
        (e) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(e)
            .color,
      ),
    'rgb(11, 92, 173)',
  );
  t.match(await page.locator('table').first().innerText(), /Biblioteka[\s\S]*30\u202f000[\s\S]*3\.03 %/);
  t.match(
    await page.locator('body').innerText(),
    new RegExp('ab'.repeat(32)),
    'the self-test digest in full',
  );
  t.same(blocked, [], 'nothing left loopback');
  t.same(errors, [], 'no console error (CSP)');
  const png = await page.screenshot({ fullPage: true });
  t.ok(pngInfo(png).width >= 1000);
  const pdf = await page.pdf({ format: 'A4' });
  t.ok(pdf.length > 1000, 'prints to PDF');
  if (UPDATE) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, 'transparency-report.png'), png);
  }
});
