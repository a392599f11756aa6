/**
 * The compiled lists kept by version in <stateDir>/compiled, so that a restart whose sources hash to a
 * kept version (lists-version.ts: contents, categories, formats, abuse key id) loads the artifact, tens
 * of milliseconds for a million names, instead of compiling it again, seconds. That is the common start
 * of a hotspot gateway: a reboot with the lists it had.
 *
 * Nothing here is trusted more than a file: the artifact's checksum and version are checked on load, and
 * one that is missing, unreadable, corrupt or of another version is passed over (the lists are compiled,
 * and the cache rewritten). The abuse entries in an artifact are keyed digests, as the feed store keeps
 * them on disk; the report's samples of a confidential source are already redacted by the compile.
 * The report names the roje that compiled it: another release may parse a line differently, so its
 * artifacts are passed over. Only the newest KEEP versions stay, so a folder of old lists never grows.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VERSION } from '../version.js';
import type { AbuseKey } from './abuse/format.js';
import type { CompileReport } from './compile.js';
import { loadArtifact, writeArtifact } from './compiled/index.js';
import type { CompiledLists } from './types.js';

/** Versions kept: the one in force and the one before (a reload back to it is common). */
const KEEP = 2;
const VERSION_RE = /^[0-9a-f]{16,128}$/;

export interface CompiledCache {
  /** The lists compiled for `version`, verified; null when none is kept or it does not verify. */
  get(
    version: string,
    abuseKey: AbuseKey | null,
  ): Promise<{ lists: CompiledLists; report: CompileReport } | null>;
  /**
   * Keeps a compile's result (never rejects: failing to write only costs a compile at the next start).
   * A get() begun meanwhile waits for it.
   */
  put(report: CompileReport, artifact: Buffer): Promise<void>;
  /** Resolves once every put() begun so far is written (stop waits for it: the next start reads it). */
  settled(): Promise<void>;
}

const paths = (dir: string, version: string) => ({
  artifact: join(dir, `${version}.rojebl`),
  report: join(dir, `${version}.json`),
});

export function createCompiledCache(dir: string): CompiledCache {
  const writing = new Set<Promise<void>>();
  const settled = async () => {
    while (writing.size > 0) await Promise.all(writing);
  };
  return {
    async get(version, abuseKey) {
      if (!VERSION_RE.test(version)) return null;
      await settled();
      const p = paths(dir, version);
      try {
        const [bytes, text] = await Promise.all([readFile(p.artifact), readFile(p.report, 'utf8')]);
        const kept = JSON.parse(text) as { roje: string; report: CompileReport };
        if (kept.roje !== VERSION) return null;
        // Nothing was parsed: to the compile tally (services/lists-parses.ts) every source came from a cache.
        const report = { ...kept.report, sources: kept.report.sources.map((s) => ({ ...s, cached: true })) };
        const lists = loadArtifact(bytes, 'compiled from the configured lists (kept in stateDir)', {
          abuseKey,
        });
        if (lists.version !== version || report.version !== version) return null;
        return { lists, report };
      } catch {
        return null;
      }
    },
    put(report, artifact) {
      const done = keep(dir, report, artifact).finally(() => writing.delete(done));
      writing.add(done);
      return done;
    },
    settled,
  };
}

async function keep(dir: string, report: CompileReport, artifact: Buffer): Promise<void> {
  if (!VERSION_RE.test(report.version)) return;
  const p = paths(dir, report.version);
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    // The report first: an artifact without its report is passed over, never the other way round.
    await writeArtifact(p.report, Buffer.from(JSON.stringify({ roje: VERSION, report })));
    await writeArtifact(p.artifact, artifact);
    await prune(dir, report.version);
  } catch {
    // A full or read-only disk: the next start compiles, as it would without the cache.
  }
}

/** Removes all but the newest KEEP versions (by modification time; `current` always stays). */
async function prune(dir: string, current: string): Promise<void> {
  const kept: Array<{ version: string; mtime: number }> = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.rojebl')) continue;
    const version = name.slice(0, -'.rojebl'.length);
    const st = await stat(join(dir, name)).catch(() => null);
    kept.push({ version, mtime: version === current ? Number.POSITIVE_INFINITY : (st?.mtimeMs ?? 0) });
  }
  kept.sort((a, b) => b.mtime - a.mtime);
  for (const { version } of kept.slice(KEEP)) {
    await rm(join(dir, `${version}.rojebl`), { force: true });
    await rm(join(dir, `${version}.json`), { force: true });
  }
}
