/**
 * Verify suites: a YAML file of cases (a name to ask, a type, what a filtering resolver must
 * answer). Validated with a TypeBox schema; a problem names the file, the case index and the key,
 * like a config error does. Built-in suites live in blocklists/suites/, found from src/ and dist/
 * alike (and in the Docker image, which copies blocklists/).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ConfigError, describeValue } from '../config/config-error.js';
import { Type } from '../config/json-schema.js';
import { qtypeNumber, VERIFY_TRANSPORTS, type VerifyTransport } from './client.js';

export const SUITES_DIR = fileURLToPath(new URL('../../blocklists/suites/', import.meta.url));
export const BUILTIN_SUITES = ['friendly-wifi'] as const;

export const EXPECTATIONS = ['blocked', 'allowed', 'safesearch', 'nxdomain', 'nodata'] as const;
export type Expectation = (typeof EXPECTATIONS)[number];

const MAX_SUITE_BYTES = 1024 * 1024;
const MAX_CASES = 10_000;

const expected = <T extends TSchema>(words: string, schema: T): T => ({ ...schema, 'x-expected': words });

const Name = expected(
  'a domain name such as "www.example.com"',
  Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_*-]+(\\.[A-Za-z0-9_-]+)*\\.?$' }),
);
const Host = expected(
  'a host name such as "forcesafesearch.google.com"',
  Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.?$' }),
);

const CaseSchema = Type.Object(
  {
    name: expected('a case name (text)', Type.String({ minLength: 1, maxLength: 200 })),
    qname: Name,
    qtype: Type.Optional(
      expected('a query type such as A, AAAA, HTTPS, SVCB or TYPE64', Type.String({ minLength: 1 })),
    ),
    expect: expected(
      `one of ${EXPECTATIONS.join(', ')}`,
      Type.Union(EXPECTATIONS.map((e) => Type.Literal(e))),
    ),
    transports: Type.Optional(
      expected(
        'a list of udp and/or tcp',
        Type.Array(expected('udp or tcp', Type.Union([Type.Literal('udp'), Type.Literal('tcp')])), {
          minItems: 1,
          uniqueItems: true,
        }),
      ),
    ),
    category: Type.Optional(expected('a category name (text)', Type.String({ minLength: 1, maxLength: 64 }))),
    requires: Type.Optional(expected('roje (a check only roje can pass)', Type.Literal('roje'))),
    safeHost: Type.Optional(
      expected('a safe host name, or a list of them', Type.Union([Host, Type.Array(Host, { minItems: 1 })])),
    ),
  },
  { additionalProperties: false },
);

const SuiteSchema = Type.Object(
  {
    name: expected('a suite name (text)', Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(expected('text', Type.String())),
    cases: expected(
      `a list of 1 to ${MAX_CASES} cases`,
      Type.Array(CaseSchema, { minItems: 1, maxItems: MAX_CASES }),
    ),
  },
  { additionalProperties: false },
);

type RawSuite = Static<typeof SuiteSchema>;

export interface SuiteCase {
  name: string;
  qname: string;
  qtype: string;
  expect: Expectation;
  transports: VerifyTransport[];
  category?: string;
  /** 'roje': a roje-specific check (the abuse canary), not applicable to another resolver. */
  requires?: 'roje';
  /** For safesearch: the CNAME targets that count (lowercase, no trailing dot). */
  safeHosts?: string[];
}

export interface Suite {
  name: string;
  description?: string;
  /** The file it was read from. */
  source: string;
  /** sha256 (hex) of the file's bytes, so a report names exactly what was run. */
  sha256: string;
  cases: SuiteCase[];
}

let compiled: ValidateFunction<RawSuite> | null = null;

/**
 * The suite check, compiled at its first use: ajv compiles it in ~100 ms, which a server would otherwise
 * spend at import, before its first answer (the self-test reads its suite after the listeners start).
 */
function suiteCheck(): ValidateFunction<RawSuite> {
  if (compiled === null) {
    // verbose: errors carry their schema, whose x-expected says the expected form in words.
    const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
    ajv.addVocabulary(['x-expected']);
    compiled = ajv.compile<RawSuite>(SuiteSchema);
  }
  return compiled;
}

function suiteError(file: string, key: string | null, why: string, expectedForm: string | null = null) {
  return new ConfigError(
    'ROJE_ERR_VERIFY_SUITE',
    `suite error in ${file}: ${key === null || key === '' ? '' : `${key}: `}${why}`,
    { file, key, expected: expectedForm },
  );
}

/** "/cases/3/expect" -> "cases[3].expect". */
function keyOf(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`),
      '',
    );
}

function valueAt(data: unknown, pointer: string): unknown {
  let v = data;
  for (const part of pointer.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}

function translate(errors: ErrorObject[], data: unknown, file: string): ConfigError {
  // Unknown and missing keys explain the rest; then the deepest (most specific) place.
  const pick =
    errors.find((e) => e.keyword === 'additionalProperties') ??
    errors.find((e) => e.keyword === 'required') ??
    [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  const key = keyOf(pick.instancePath);
  if (pick.keyword === 'additionalProperties') {
    const extra = (pick.params as { additionalProperty: string }).additionalProperty;
    return suiteError(file, key === '' ? extra : `${key}.${extra}`, 'unknown key');
  }
  if (pick.keyword === 'required') {
    const missing = (pick.params as { missingProperty: string }).missingProperty;
    return suiteError(file, key === '' ? missing : `${key}.${missing}`, 'is missing');
  }
  // The words sit on the key's schema; a union branch's or an array item's error is below it.
  const withWords = errors
    .filter(
      (e) => pick.instancePath.startsWith(e.instancePath) && e.parentSchema?.['x-expected'] !== undefined,
    )
    .sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  const words =
    (withWords?.parentSchema?.['x-expected'] as string | undefined) ?? pick.message ?? 'another value';
  return suiteError(
    file,
    key,
    `expected ${words}, got ${describeValue(valueAt(data, pick.instancePath))}`,
    words,
  );
}

/** Validates parsed YAML and fills in defaults (qtype A, both transports). */
export function parseSuite(raw: unknown, file: string, sha256: string): Suite {
  const check = suiteCheck();
  if (!check(raw)) throw translate(check.errors ?? [], raw, file);
  const cases = raw.cases.map((c, i): SuiteCase => {
    const qtype = (c.qtype ?? 'A').toUpperCase();
    if (qtypeNumber(qtype) === null) {
      throw suiteError(
        file,
        `cases[${i}].qtype`,
        `expected a query type such as A, AAAA, HTTPS, SVCB or TYPE64, got ${describeValue(c.qtype)}`,
      );
    }
    const safeHosts =
      c.safeHost === undefined
        ? undefined
        : (Array.isArray(c.safeHost) ? c.safeHost : [c.safeHost]).map((h) =>
            h.toLowerCase().replace(/\.$/, ''),
          );
    if (c.expect === 'safesearch' && safeHosts === undefined) {
      throw suiteError(file, `cases[${i}].safeHost`, 'is missing (a safesearch case names its safe host)');
    }
    return {
      name: c.name,
      qname: c.qname.replace(/\.$/, ''),
      qtype,
      expect: c.expect,
      transports: (c.transports as VerifyTransport[] | undefined) ?? [...VERIFY_TRANSPORTS],
      ...(c.category !== undefined ? { category: c.category } : {}),
      ...(c.requires !== undefined ? { requires: c.requires } : {}),
      ...(safeHosts !== undefined ? { safeHosts } : {}),
    };
  });
  return {
    name: raw.name,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    source: file,
    sha256,
    cases,
  };
}

/** Reads a suite: a built-in name ('friendly-wifi') or a path to a YAML file. Throws ConfigError. */
export async function loadSuite(nameOrPath: string): Promise<Suite> {
  const builtin = (BUILTIN_SUITES as readonly string[]).includes(nameOrPath);
  const file = builtin ? resolve(SUITES_DIR, `${nameOrPath}.yaml`) : resolve(nameOrPath);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw suiteError(
      file,
      null,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a YAML file or one of: ${BUILTIN_SUITES.join(', ')}`,
    );
  }
  if (bytes.length > MAX_SUITE_BYTES) throw suiteError(file, null, 'is larger than 1 MiB');
  let raw: unknown;
  try {
    raw = parseYaml(bytes.toString('utf8'));
  } catch (err) {
    throw suiteError(file, null, `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseSuite(raw, file, createHash('sha256').update(bytes).digest('hex'));
}
