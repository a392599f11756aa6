/**
 * The self-test runs kept for auditors, on disk: per run an index `<id>.json` (the summary) and one
 * file per venue holding exactly the signed report JSON, `<id>.venue-<name>.json` or
 * `<id>.no-venue.json` (clients of no venue). A report file is the bytes the summary's SHA-256 names,
 * so a certifier can check a digest (in the summary or the transparency report) against the file,
 * and the signature inside it with `roje verify-report`. Writes go through a temporary file and a
 * rename: a crash leaves the last good copy.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A run id: its start as an ISO time with ':' and '.' replaced by '-'. */
export const RUN_ID_RE = /^[0-9TZ-]{15,40}$/;
const NO_VENUE = 'no-venue';

/** The report file of a run's venue (null: clients of no venue). Venue names are config names ([A-Za-z0-9_-]). */
export function reportFileName(id: string, venue: string | null): string {
  return venue === null ? `${id}.${NO_VENUE}.json` : `${id}.venue-${venue}.json`;
}

/** A report as kept: its JSON text (what is written and hashed) and that text's SHA-256 (hex). */
export function reportText(report: unknown): { text: string; sha256: string } {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  return { text, sha256: createHash('sha256').update(text).digest('hex') };
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text, { mode: 0o640 });
  await rename(tmp, file);
}

/** Writes a run: the report files first, the index last (an index never names a missing file). */
export async function writeRun(
  dir: string,
  id: string,
  summary: unknown,
  reports: ReadonlyArray<{ file: string; text: string }>,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  for (const r of reports) await writeAtomic(join(dir, r.file), r.text);
  await writeAtomic(join(dir, `${id}.json`), `${JSON.stringify(summary, null, 2)}\n`);
}

/** Removes every file of the runs older than the newest `keep` (index and reports). */
export async function pruneRuns(dir: string, keep: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  const ids = [...new Set(files.map(runIdOf))].sort();
  const old = new Set(ids.slice(0, Math.max(0, ids.length - keep)));
  for (const f of files) if (old.has(runIdOf(f))) await rm(join(dir, f), { force: true });
}

/** The runs on disk, oldest first: each index's parsed JSON and its report files' texts by name. */
export async function readRuns(
  dir: string,
  keep: number,
): Promise<Array<{ summary: unknown; reports: Map<string, string> }>> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const ids = files
    .filter((f) => RUN_ID_RE.test(f.slice(0, -5)))
    .map((f) => f.slice(0, -5))
    .sort()
    .slice(-keep);
  const runs: Array<{ summary: unknown; reports: Map<string, string> }> = [];
  for (const id of ids) {
    try {
      const summary = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as unknown;
      const reports = new Map<string, string>();
      for (const f of files.filter((name) => name.startsWith(`${id}.`) && name !== `${id}.json`)) {
        reports.set(f, await readFile(join(dir, f), 'utf8'));
      }
      runs.push({ summary, reports });
    } catch {
      // A damaged run is skipped: the next run writes a good one.
    }
  }
  return runs;
}

function runIdOf(file: string): string {
  const dot = file.indexOf('.');
  return dot === -1 ? file : file.slice(0, dot);
}
