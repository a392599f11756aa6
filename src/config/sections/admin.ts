/** `admin` and `metrics`: the admin API, its tokens, and an optional listener of its own for /metrics. */
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { ROLES, type TokenEntry as Token } from '../../admin/auth.js';
import { lazyRequire } from '../../lazy.js';
import { invalidKey, systemReason } from '../config-error.js';
import { Type } from '../json-schema.js';
import { pathOrNull, type SectionContext, section, VALUE_EXPECTED } from './common.js';
import { listenFlag, listenValue } from './listen.js';

/** The roles of src/admin/auth.ts, most powerful first (as messages list them). */
const ROLE_WORDS = [...ROLES].reverse();

/** TypeBox's checker, for a tokens file only (TypeBox's modules are not loaded at every start). */
const typeboxValue = lazyRequire<typeof import('@sinclair/typebox/value')>('@sinclair/typebox/value');
export const TokenEntry = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$', 'x-expected': 'who holds the token' }),
    role: Type.Union(
      ROLE_WORDS.map((r) => Type.Literal(r)),
      { 'x-expected': `one of ${ROLE_WORDS.join(', ')}` },
    ),
    sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      'x-expected': 'the hex SHA-256 of the token (roje token prints it)',
    }),
  },
  { additionalProperties: false, 'x-expected': 'a mapping with keys name, role, sha256' },
);

const listenOrNull = (defaultValue: string | null, description: string) =>
  Type.Union([Type.Null(), Type.String({ format: 'listen' })], {
    default: defaultValue,
    description,
    'x-expected': `${VALUE_EXPECTED.listen}, or null`,
  });

export const AdminSchema = section(
  {
    listen: listenOrNull(
      '127.0.0.1:8053',
      'the admin API address (loopback unless you put a TLS proxy in front); null: off',
    ),
    tokens: Type.Array(TokenEntry, {
      default: [],
      description: 'API tokens (hashed; make one with `roje token`)',
    }),
    tokensFile: pathOrNull('a YAML file with more token entries (a secrets file, kept out of the config)'),
  },
  'the admin API',
);

export type AdminConfig = Awaited<ReturnType<typeof normalizeAdmin>>;

/** The listener (--admin replaces it), and the tokens of the file and of tokensFile together. */
export async function normalizeAdmin(
  ctx: SectionContext,
  raw: Static<typeof AdminSchema>,
  flagListen: string | undefined,
) {
  const { file } = ctx;
  return {
    listen:
      flagListen !== undefined
        ? listenFlag('--admin', flagListen)
        : raw.listen === null
          ? null
          : listenValue(file, 'admin.listen', raw.listen),
    tokens: [...raw.tokens, ...(raw.tokensFile === null ? [] : await readTokensFile(ctx, raw.tokensFile))],
  };
}

/** A secrets file of token entries: a YAML list of { name, role, sha256 }. */
async function readTokensFile(ctx: SectionContext, tokensFile: string): Promise<Token[]> {
  const { file } = ctx;
  const path = resolve(ctx.baseDir, tokensFile);
  let text: string;
  try {
    text = await ctx.read(path);
  } catch (err) {
    throw invalidKey(
      file,
      'admin.tokensFile',
      `cannot read "${path}": ${systemReason(err)}`,
      'a readable file',
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw invalidKey(file, 'admin.tokensFile', `"${path}" is not valid YAML: ${(err as Error).message}`);
  }
  const { Value } = typeboxValue();
  if (!Array.isArray(doc) || !doc.every((e) => Value.Check(TokenEntry, e))) {
    throw invalidKey(
      file,
      'admin.tokensFile',
      `"${path}" must be a YAML list of { name, role: ${ROLE_WORDS.join('|')}, sha256: <64 hex> }`,
    );
  }
  return doc as Token[];
}

export const MetricsSchema = section(
  {
    listen: listenOrNull(
      null,
      'a listener of its own for /metrics, without a token (the admin API serves it too)',
    ),
  },
  'Prometheus metrics',
);

export type MetricsConfig = ReturnType<typeof normalizeMetrics>;

export function normalizeMetrics(ctx: SectionContext, raw: Static<typeof MetricsSchema>) {
  return { listen: raw.listen === null ? null : listenValue(ctx.file, 'metrics.listen', raw.listen) };
}
