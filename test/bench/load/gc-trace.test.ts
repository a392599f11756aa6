import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { createLineWindow, parseGcLine, summarizeGc } from '../../../bench/load/gc-trace.js';

// Lines as Node 20 prints them, and the shapes newer V8 versions add (a word after the kind, "pooled").
const SCAVENGE =
  '[4242:0x55d0c8a0]     1234 ms: Scavenge 4.1 (5.6) -> 3.5 (6.6) MB, 0.85 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ';
const MARK_COMPACT =
  '[4242:0x55d0c8a0]     5678 ms: Mark-Compact 40.8 (70.4) -> 14.3 (50.0) MB, 2.77 / 0.00 ms  (+ 4.2 ms in 27 steps since start of marking, biggest step 0.3 ms, walltime since start of marking 18 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via task; GC in old space requested';
const REDUCE =
  '[4242:0x55d0c8a0]     6000 ms: Mark-Compact (reduce) 30.1 (40.0) -> 20.0 (30.0) MB, 12.50 / 0.00 ms  (average mu = 0.9, current mu = 0.9) idle notification: finalize idle round; memory reducer';
const INTERLEAVED =
  '[4242:0x55d0c8a0:0]     7000 ms: Scavenge (interleaved) 4.6 (5.1) -> 4.0 (6.1) MB, pooled: 0.0 MB, 1.25 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure;';

t.test(
  'parseGcLine reads the kind, the pause and the incremental marking of a --trace-gc line',
  async (t) => {
    t.same(parseGcLine(SCAVENGE), { kind: 'scavenge', pauseMs: 0.85, incrementalMs: 0 });
    t.same(parseGcLine(MARK_COMPACT), { kind: 'mark-compact', pauseMs: 2.77, incrementalMs: 4.2 });
    t.same(parseGcLine(REDUCE), { kind: 'mark-compact', pauseMs: 12.5, incrementalMs: 0 });
    t.same(parseGcLine(INTERLEAVED), { kind: 'scavenge', pauseMs: 1.25, incrementalMs: 0 });
  },
);

t.test('parseGcLine ignores everything else roje prints on stdout', async (t) => {
  for (const line of [
    '{"level":40,"time":1,"msg":"upstream slow","ms":12}',
    '',
    '[4242:0x55d0c8a0]     1234 ms: Memory reducer: started GC #1',
    'Scavenge 4.1 (5.6) -> 3.5 (6.6) MB, 0.85 / 0.00 ms',
  ]) {
    t.equal(parseGcLine(line), undefined, JSON.stringify(line));
  }
});

t.test('summarizeGc counts each kind and totals its pauses, with the longest', async (t) => {
  const lines = [SCAVENGE, 'noise', MARK_COMPACT, INTERLEAVED, REDUCE, SCAVENGE];
  const pauses = lines.map(parseGcLine).filter((e) => e !== undefined);
  const young = pauses.filter((e) => e.kind === 'scavenge').map((e) => e.pauseMs);
  const full = pauses.filter((e) => e.kind === 'mark-compact').map((e) => e.pauseMs);
  const summary = summarizeGc(lines);
  t.equal(summary.scavenges.count, 3);
  t.equal(summary.markCompacts.count, 2);
  t.ok(Math.abs(summary.scavenges.totalMs - young.reduce((a, b) => a + b, 0)) < 1e-9);
  t.ok(Math.abs(summary.markCompacts.totalMs - full.reduce((a, b) => a + b, 0)) < 1e-9);
  t.equal(summary.scavenges.maxMs, Math.max(...young));
  t.equal(summary.markCompacts.maxMs, Math.max(...full));
  t.equal(summary.markCompacts.incrementalMs, 4.2);
  t.same(summarizeGc([]), {
    scavenges: { count: 0, totalMs: 0, maxMs: 0 },
    markCompacts: { count: 0, totalMs: 0, maxMs: 0, incrementalMs: 0 },
  });
});

t.test(
  "this Node's own --trace-gc lines are counted: 3 forced full and 2 forced young collections",
  async (t) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--expose-gc',
        '--trace-gc',
        '-e',
        "for (let i = 0; i < 3; i++) gc(); for (let i = 0; i < 2; i++) gc({ type: 'minor' });",
      ],
      { timeout: 30_000 },
    );
    // Only the forced ones ("testing"): the start-up may or may not collect on its own.
    const forced = stdout.split('\n').filter((l) => l.includes('testing'));
    const summary = summarizeGc(forced);
    t.equal(summary.markCompacts.count, 3, stdout);
    t.equal(summary.scavenges.count, 2, stdout);
    t.ok(summary.markCompacts.totalMs > 0 && summary.markCompacts.maxMs <= summary.markCompacts.totalMs);
  },
);

t.test('createLineWindow returns the whole lines written between mark and since', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roje-gc-window-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'stdout.log');
  const window = createLineWindow(path.join(dir, 'not-yet.log'));
  t.equal(await window.mark(), 0, 'a file not yet written has no lines');
  await writeFile(file, 'before 1\nbefore 2\nhalf');
  const lines = createLineWindow(file);
  const mark = await lines.mark();
  t.equal(mark, 2, 'a line still being written is not counted yet');
  await appendFile(file, ' done\nduring\nafter, unfinished');
  t.same(await lines.since(mark), ['half done', 'during']);
});
