import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';
import { type ConfigFlags, type NormalizeDeps, normalizeConfig, systemReason } from './normalize.js';
import type { RojeConfig } from './schema.js';
import { checkSchema } from './validate.js';

export { ConfigError } from './config-error.js';
export type { ConfigFlags } from './normalize.js';

export interface LoadConfigOptions {
  /** The YAML config file; without one, the embedded default (loopback :5353, resolv.conf upstreams). */
  file?: string;
  /** Command-line lists; each replaces the file's list of the same name. */
  flags?: ConfigFlags;
}

/** A config file larger than this is a mistake (a log, a blocklist), not a config. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Reads, parses, validates and normalizes the config. Throws ConfigError (ROJE_ERR_CONFIG_READ,
 * _PARSE, _INVALID, _NO_UPSTREAM) whose message names the file, the key and the expected form; the
 * CLI prints it after "roje: " and exits 2. Safe to call again on SIGHUP: it has no side effects.
 */
export async function loadConfig(
  options: LoadConfigOptions = {},
  deps: NormalizeDeps = {},
): Promise<RojeConfig> {
  if (options.file === undefined) return validateConfig({}, null, options.flags, deps);
  const file = resolve(options.file);
  const text = await readConfigFile(file);
  return validateConfig(parseConfigText(text, file), file, options.flags, deps);
}

/**
 * Validates an already-parsed config (`raw` as YAML/JSON gives it; null or undefined mean an empty
 * file) and normalizes it. `source` is the file it came from, for messages and relative paths, or
 * null for the embedded default.
 */
export async function validateConfig(
  raw: unknown,
  source: string | null,
  flags: ConfigFlags = {},
  deps: NormalizeDeps = {},
): Promise<RojeConfig> {
  return normalizeConfig(checkSchema(raw, source), source, flags, deps);
}

async function readConfigFile(file: string): Promise<string> {
  const fail = (why: string, cause?: unknown) =>
    new ConfigError(
      'ROJE_ERR_CONFIG_READ',
      `config error in ${file}: cannot read the file: ${why}`,
      {
        file,
        key: null,
        expected: null,
      },
      { cause },
    );
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw fail('it is a directory');
    if (info.size > MAX_FILE_BYTES) throw fail(`it is ${info.size} bytes; a config file is at most 1 MiB`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(systemReason(err), err);
  }
}

/** YAML text -> plain data. Syntax errors (including duplicate keys) name the line and column. */
export function parseConfigText(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, strict: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0];
    const where = pos === undefined ? file : `${file}:${pos.line}:${pos.col}`;
    // yaml's message ends with a code excerpt; the first line is the part worth a log line.
    const first = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const why =
      error.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document ("---"); roje reads one'
        : first;
    return throwParse(file, where, why, pos, error);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return throwParse(file, file, (err as Error).message, undefined, err);
  }
}

function throwParse(
  file: string,
  where: string,
  why: string,
  pos: { line: number; col: number } | undefined,
  cause: unknown,
): never {
  throw new ConfigError(
    'ROJE_ERR_CONFIG_PARSE',
    `config error in ${where}: YAML syntax: ${why}`,
    { file, key: null, expected: null, line: pos?.line, column: pos?.col },
    { cause },
  );
}
