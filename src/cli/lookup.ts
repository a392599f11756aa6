import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { LookupAnswer } from '../lookup/lookup.js';
import type { Io } from './index.js';

export const LOOKUP_USAGE =
  'Usage: roje lookup NAME [--venue V] [--admin URL] [--token-file FILE] [--json]  (token also from ROJE_TOKEN)';

const OPTIONS = {
  venue: { type: 'string' },
  admin: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The admin API's default address (admin.listen). */
const DEFAULT_ADMIN = 'http://127.0.0.1:8053';
const TIMEOUT_MS = 15_000;

/**
 * `roje lookup`: asks a running roje why a name is blocked (GET /api/v1/lookup) and prints the answer,
 * or the JSON itself with --json. The token (auditor or more) comes from --token-file or ROJE_TOKEN.
 * Exit 0 answered, 1 the API failed (its code printed), 2 bad usage.
 */
export async function lookup(argv: readonly string[], io: Io): Promise<number> {
  let values: { venue?: string; admin?: string; 'token-file'?: string; json?: boolean };
  let name: string;
  let token: string;
  try {
    const parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
    values = parsed.values;
    if (parsed.positionals.length !== 1) throw new Error('give exactly one NAME');
    name = parsed.positionals[0];
    const file = values['token-file'];
    token =
      file !== undefined ? (await readFile(file, 'utf8')).trim() : (process.env.ROJE_TOKEN ?? '').trim();
    if (token === '') throw new Error('no token: give --token-file FILE or set ROJE_TOKEN');
  } catch (err) {
    io.stderr.write(`roje lookup: ${(err as Error).message}\n${LOOKUP_USAGE}\n`);
    return 2;
  }
  const base = (values.admin ?? DEFAULT_ADMIN).replace(/\/+$/, '');
  const url = new URL(`${base.includes('://') ? base : `http://${base}`}/api/v1/lookup`);
  url.searchParams.set('name', name);
  if (values.venue !== undefined) url.searchParams.set('venue', values.venue);
  let status: number;
  let body: Record<string, unknown>;
  try {
    const { request } = await import('undici');
    const res = await request(url, {
      headers: { authorization: `Bearer ${token}` },
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    status = res.statusCode;
    body = (await res.body.json()) as Record<string, unknown>;
  } catch (err) {
    io.stderr.write(`roje lookup: cannot ask ${url.origin}: ${(err as Error).message}\n`);
    return 1;
  }
  if (status !== 200) {
    const code = typeof body.code === 'string' ? `${body.code}: ` : '';
    io.stderr.write(`roje lookup: ${status} ${code}${String(body.message ?? body.error ?? '')}\n`);
    return 1;
  }
  io.stdout.write(
    values.json ? `${JSON.stringify(body, null, 2)}\n` : describe(body as unknown as LookupAnswer),
  );
  return 0;
}

/** The answer in words: one line per venue, then what lists the name. */
export function describe(a: LookupAnswer): string {
  const lines = [`${a.name} (lists ${a.listsVersion.slice(0, 12)})`];
  for (const d of a.decisions) {
    const who = d.venue === null ? 'clients of no venue' : `venue ${d.venue}`;
    let why = '';
    if (d.reason === 'lists' || d.reason === 'abuse') why = `: ${d.categories.join(', ')}`;
    else if (d.allowedBy !== undefined) why = `: ${d.allowedBy.join(', ')}`;
    else if (d.addition !== undefined)
      why = `: ${d.addition.kind} entry ${d.addition.entry} of policy ${d.addition.policy}`;
    else if (d.override !== undefined)
      why = `: override ${d.override.id}${d.override.note ? ` (${d.override.note})` : ''}`;
    else if (d.safeSearch !== undefined) why = `: ${d.safeSearch.engine} -> ${d.safeSearch.host}`;
    const mode = d.decision === 'blocked' ? ` (${d.action ?? d.blockMode})` : '';
    const also = d.notBlocked.length > 0 ? `; also listed, not blocked here: ${d.notBlocked.join(', ')}` : '';
    lines.push(`  ${who} [${d.policy}]: ${d.decision}${mode} by ${d.reason}${why}${also}`);
  }
  for (const c of a.listed) {
    lines.push(`  ${c.category} (${c.displayName.en})`);
    for (const r of c.rules)
      lines.push(
        `    ${r.rule}   from ${r.source}, line ${r.line}${r.action === 'allow' ? ' (allow)' : ''}${r.won && c.rules.length > 1 ? '  <- decides' : ''}`,
      );
  }
  if (a.sourcesUnavailable === 'compiled')
    lines.push('  sources: not known (the lists came from a compiled artifact)');
  if (a.changedSources.length > 0) lines.push(`  changed since the compile: ${a.changedSources.join(', ')}`);
  if (a.unreadableSources.length > 0)
    lines.push(`  could not be read again: ${a.unreadableSources.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
