import t from 'tap';
import {
  formatBytes,
  formatDuration,
  MAX_DURATION_MS,
  parseByteSize,
  parseDuration,
} from '../../src/config/units.js';

t.test('parseDuration accepts units and compounds', async (t) => {
  const cases: [unknown, number][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s250ms', 90_250],
    ['0s', 0],
    [0, 0],
    [' 2s ', 2000],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, String(text));
});

t.test('parseDuration rejects ambiguous or malformed values', async (t) => {
  for (const bad of [
    2,
    1.5,
    '2',
    '',
    'forever',
    '30S',
    '1.5s',
    '-1s',
    '30m1h',
    '1s1s',
    'ms',
    '1w',
    null,
    {},
    '25d',
  ]) {
    t.equal(parseDuration(bad), null, JSON.stringify(bad));
  }
  t.equal(parseDuration(`${MAX_DURATION_MS}ms`), MAX_DURATION_MS);
  t.equal(parseDuration(`${MAX_DURATION_MS + 1}ms`), null);
});

t.test('formatDuration is the inverse for whole values', async (t) => {
  for (const text of ['0s', '500ms', '30s', '1h30m', '1d', '2d3h4m5s6ms']) {
    t.equal(formatDuration(parseDuration(text)!), text);
  }
});

t.test('parseByteSize', async (t) => {
  const cases: [unknown, number][] = [
    [0, 0],
    [1234, 1234],
    ['1234', 1234],
    ['64MiB', 64 * 1024 * 1024],
    ['64mib', 64 * 1024 * 1024],
    ['1GB', 1e9],
    ['512 KiB', 512 * 1024],
    ['100kB', 100_000],
    ['10B', 10],
  ];
  for (const [text, bytes] of cases) t.equal(parseByteSize(text), bytes, String(text));
  for (const bad of [-1, 1.5, '64 zb', '1.5GB', 'lots', '', null, '-5MiB', '99999999999TiB']) {
    t.equal(parseByteSize(bad), null, JSON.stringify(bad));
  }
  t.equal(formatBytes(64 * 1024 * 1024), '64 MiB');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(900), '900 B');
});
