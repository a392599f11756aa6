import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { parseListFlags } from '../config/filtering.js';
import { loadConfig } from '../config/load.js';
import { CATEGORY_PATTERN } from '../config/schema.js';
import { formatBytes } from '../config/units.js';
import { isRojeError } from '../errors.js';
import { readFeedCopies } from '../feeds/store.js';
import { isFeedSource } from '../feeds/types.js';
import { formatSignature, signArtifact } from '../fleet/signature.js';
import { loadAbuseKey } from '../policy/abuse/key.js';
import type { AbuseCompileOptions, CompileReport, PageEntries } from '../policy/compile.js';
import { compileInWorker } from '../policy/compile-worker.js';
import { loadArtifact, writeArtifact } from '../policy/compiled/index.js';
import { resolveSources } from '../policy/lists-loader.js';
import { readSquidGuardTree } from '../policy/parsers/index.js';
import { CONFIDENTIAL_CATEGORIES, type ListSource } from '../policy/types.js';
import { readSigningKey } from '../verify/sign.js';
import { whileGrowing } from '../young-generation.js';
import type { Io } from './index.js';

const OPTIONS = {
  list: { type: 'string', multiple: true },
  squidguard: { type: 'string', multiple: true },
  category: { type: 'string', multiple: true },
  config: { type: 'string' },
  out: { type: 'string', short: 'o' },
  format: { type: 'string' },
  'abuse-key': { type: 'string' },
  'abuse-pages': { type: 'string' },
  'sign-key': { type: 'string' },
} as const;

const USAGE_LINE =
  'Usage: roje compile (--list CATEGORY=PATH... | --squidguard DIR [--category NAME]... | --config FILE) --out FILE [--sign-key FILE] [--format json] [--abuse-key FILE] [--abuse-pages count|block-host]';

class UsageError extends Error {}

/**
 * `roje compile`: list sources -> one artifact file (written atomically), on a worker thread as the
 * server does it. Prints what each source gave (rules, skipped lines per reason with samples, sha256).
 * With --sign-key, also FILE.sig: the detached Ed25519 signature fleet edges verify (src/fleet).
 * Exit 0 ok, 2 bad usage or config, 1 the compile failed (a list unreadable, too many categories...).
 */
export async function compile(argv: readonly string[], io: Io): Promise<number> {
  let values: {
    list?: string[];
    squidguard?: string[];
    category?: string[];
    config?: string;
    out?: string;
    format?: string;
    'abuse-key'?: string;
    'abuse-pages'?: string;
    'sign-key'?: string;
  };
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
    if (values.out === undefined) throw new UsageError('--out FILE is missing');
    if (values.format !== undefined && values.format !== 'json' && values.format !== 'text') {
      throw new UsageError(`--format ${JSON.stringify(values.format)}: expected json or text`);
    }
    const pages = values['abuse-pages'];
    if (pages !== undefined && pages !== 'count' && pages !== 'block-host') {
      throw new UsageError(`--abuse-pages ${JSON.stringify(pages)}: expected count or block-host`);
    }
    if (values.category !== undefined && values.squidguard === undefined) {
      throw new UsageError('--category picks folders of a --squidguard tree: give --squidguard DIR');
    }
    if (values.list === undefined && values.squidguard === undefined && values.config === undefined) {
      throw new UsageError('no lists: give --list CATEGORY=PATH, --squidguard DIR or --config FILE');
    }
  } catch (err) {
    io.stderr.write(`roje compile: ${(err as Error).message}\n${USAGE_LINE}\n`);
    return 2;
  }
  const json = values.format === 'json';
  const out = resolve(values.out);
  const signKey = values['sign-key'];

  let sources: ListSource[];
  let abuse: AbuseCompileOptions | undefined;
  try {
    ({ sources, abuse } = await collectSources(values, io));
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr.write(`roje compile: ${err.message}\n`);
      return 2;
    }
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje compile: ${err.message}\n`);
    return 1;
  }

  try {
    // The key first: a wrong path should not cost a compile.
    const key = signKey === undefined ? null : await readSigningKey(resolve(signKey));
    const { artifact, report } = await whileGrowing(() =>
      compileInWorker(sources, abuse, {
        onProgress: (p) =>
          io.stderr.write(
            `roje compile: ${p.rules} rules so far, reading "${p.source}" (${(p.ms / 1000).toFixed(1)} s)\n`,
          ),
      }),
    );
    // Verify what was built before it replaces anything: a load is cheap (checksum + views).
    const loaded = loadArtifact(artifact, out, { abuseKey: abuse?.key ?? null });
    const version = loaded.version;
    const sig = key === null ? null : await signArtifact(artifact, key, loaded.compiledAt);
    await writeArtifact(out, artifact);
    // The signature after the artifact: an edge that fetches between the two writes sees a mismatch
    // (refused, then fixed at its next pull), never an old artifact passing as signed.
    if (sig !== null) await writeArtifact(`${out}.sig`, Buffer.from(formatSignature(sig)));
    else await rm(`${out}.sig`, { force: true }); // a signature of the previous artifact would now lie
    const signed = sig === null ? null : { file: `${out}.sig`, keyId: sig.keyId, sha256: sig.sha256 };
    io.stdout.write(
      json
        ? `${JSON.stringify({ out, ...(signed !== null ? { signature: signed } : {}), ...report }, null, 2)}\n`
        : `${formatReport(out, version, report)}${signed === null ? '' : `signed ${signed.file}: key ${signed.keyId}, sha256 ${signed.sha256}\n`}`,
    );
    return 0;
  } catch (err) {
    if (!isRojeError(err)) throw err;
    io.stderr.write(`roje compile: ${err.message}\n`);
    return 1;
  }
}

async function collectSources(
  values: {
    list?: string[];
    squidguard?: string[];
    category?: string[];
    config?: string;
    'abuse-key'?: string;
    'abuse-pages'?: string;
  },
  io: Io,
): Promise<{ sources: ListSource[]; abuse: AbuseCompileOptions | undefined }> {
  const sources: ListSource[] = [];
  let keyFile = values['abuse-key'] === undefined ? null : resolve(values['abuse-key']);
  let pageEntries = values['abuse-pages'] as PageEntries | undefined;
  if (values.list !== undefined) sources.push(...parseListFlags(values.list));
  for (const dir of values.squidguard ?? [])
    sources.push(...(await squidGuardSources(dir, values.category, io)));
  if (sources.length === 0 && values.config !== undefined) {
    // The server's own lists; compile never forwards, so resolv.conf does not matter here.
    const cfg = await loadConfig({ file: values.config }, { skipResolvConf: true });
    keyFile ??= cfg.abuse.keyFile;
    pageEntries ??= cfg.abuse.pageEntries;
    if (cfg.compiled !== null) {
      throw new UsageError(
        `${cfg.source}: no \`lists\` to compile (it names a compiled artifact, which the server uses instead)`,
      );
    }
    // URL sources compile from their last good copies in stateDir; one without a copy cannot be compiled.
    const feedNames = cfg.lists.filter(isFeedSource).map((s) => s.name);
    const copies =
      cfg.stateDir !== null && feedNames.length > 0
        ? await readFeedCopies(cfg.stateDir, feedNames)
        : undefined;
    const resolved = resolveSources(cfg.lists, copies);
    if (resolved.missing.length > 0) {
      throw new UsageError(
        `${cfg.source}: no downloaded copy of the list feeds ${resolved.missing.join(', ')} in stateDir yet: run roje serve once, or compile files`,
      );
    }
    sources.push(...resolved.sources);
  }
  const names = new Set<string>();
  for (const s of sources) {
    if (names.has(s.name)) throw new UsageError(`two sources are named "${s.name}": ${s.path}`);
    names.add(s.name);
  }
  if (!sources.some((s) => CONFIDENTIAL_CATEGORIES.has(s.category))) return { sources, abuse: undefined };
  // An artifact is a file that outlives this process: its hashes need a key that does too.
  if (keyFile === null) {
    throw new UsageError(
      'the abuse list is hashed with the deployment key: give --abuse-key FILE (the abuse.keyFile of the servers that will load the artifact; created if missing)',
    );
  }
  const key = await loadAbuseKey(keyFile, { create: true });
  return { sources, abuse: { key, pageEntries: pageEntries ?? 'count' } };
}

const CATEGORY_RE = new RegExp(CATEGORY_PATTERN);

/**
 * The category folders of a UT1/squidGuard tree as sources: the ones --category names, or else every
 * folder but those the tree's catalogue marks `white` (sites to let through, such as UT1's `child`: a
 * policy that blocks every category would otherwise block them). Skipped folders are told on stderr.
 */
async function squidGuardSources(dir: string, only: string[] | undefined, io: Io): Promise<ListSource[]> {
  const tree = await readSquidGuardTree(resolve(dir));
  const wanted = only === undefined ? null : new Set(only);
  if (wanted === null) {
    const white = tree.filter((f) => f.usage === 'white').map((f) => f.category);
    if (white.length > 0) {
      io.stderr.write(
        `roje compile: ${dir}: skipping ${white.length} folders its catalogue marks as allow lists (${white.join(', ')}); name them with --category to compile them\n`,
      );
    }
  }
  const prefix = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-');
  const sources: ListSource[] = [];
  for (const folder of tree) {
    const names = [folder.category, ...folder.aliases];
    if (wanted === null ? folder.usage === 'white' : !names.some((n) => wanted.has(n))) continue;
    const category = folder.category.toLowerCase();
    if (!CATEGORY_RE.test(category)) {
      throw new UsageError(
        `${folder.path}: the folder name "${folder.category}" is not a valid category name (lowercase letters, digits, "-", "_")`,
      );
    }
    sources.push({ name: `${prefix}-${category}`, category, path: folder.path, format: 'squidguard' });
    for (const n of names) wanted?.delete(n);
  }
  if (wanted !== null && wanted.size > 0) {
    throw new UsageError(
      `${dir}: no category folder ${[...wanted].map((w) => `"${w}"`).join(', ')} (found: ${tree.map((f) => f.category).join(', ')})`,
    );
  }
  return sources;
}

function formatReport(out: string, version: string, report: CompileReport): string {
  const lines: string[] = [];
  for (const s of report.sources) {
    lines.push(`${s.name}  (${s.category}, ${s.format})  ${s.path}`);
    lines.push(
      `  ${s.rules} rules from ${s.lines} lines, ${s.skippedTotal} skipped, ${formatBytes(s.bytes)}, sha256 ${s.sha256}`,
    );
    if (s.pages !== undefined) {
      lines.push(
        `  ${s.pages} page-level entries: ${s.pagesBlocked ? 'their hosts are blocked (block-host)' : 'counted as not enforceable by DNS (count)'}`,
      );
    }
    const reasons = Object.entries(s.skipped).filter(([, n]) => (n ?? 0) > 0);
    if (reasons.length > 0) {
      lines.push(`  skipped: ${reasons.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
      for (const sample of s.samples.slice(0, 5)) {
        lines.push(`    line ${sample.line} (${sample.reason}): ${JSON.stringify(sample.text)}`);
      }
      if (s.samples.length > 5)
        lines.push(`    ... (${s.samples.length - 5} more samples with --format json)`);
    }
    const notes = Object.entries(s.notes).filter(([, n]) => (n ?? 0) > 0);
    if (notes.length > 0) lines.push(`  read as: ${notes.map(([note, n]) => `${note} ${n}`).join(', ')}`);
  }
  lines.push(
    `total: ${report.entries} entries from ${report.sources.length} source${report.sources.length === 1 ? '' : 's'} in ${report.categories.length} categor${report.categories.length === 1 ? 'y' : 'ies'}${report.categories.length > 0 ? ` (${report.categories.join(', ')})` : ''}`,
  );
  lines.push(
    `wrote ${out}: ${formatBytes(report.artifactBytes)}, version ${version}, ${Math.round(report.ms)} ms`,
  );
  return `${lines.join('\n')}\n`;
}
