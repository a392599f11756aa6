import { RojeError, type RojeErrorCode } from '../errors.js';
import { VALUE_EXPECTED } from './sections/common.js';
import { formatDuration, parseDuration } from './units.js';

export interface ConfigErrorDetails {
  /** The config file, or null (embedded default, command-line flags). */
  file: string | null;
  /** Dotted key path ("cache.maxTtl", "upstreams[1].url") or the flag ("--listen"); null if none. */
  key: string | null;
  /** The form that was expected, in words; null when the problem is not about a value's form. */
  expected: string | null;
  /** 1-based position in the file, for YAML syntax errors. */
  line?: number;
  column?: number;
}

/**
 * A config problem an operator can act on: the message names the file, the key and the expected
 * form, and the same facts are fields for programs (tests, an admin API). The CLI prefixes "roje: "
 * and exits with code 2.
 */
export class ConfigError extends RojeError {
  readonly file: string | null;
  readonly key: string | null;
  readonly expected: string | null;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    code: RojeErrorCode,
    message: string,
    details: ConfigErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ConfigError';
    this.file = details.file;
    this.key = details.key;
    this.expected = details.expected;
    this.line = details.line;
    this.column = details.column;
  }
}

/** How a value looks in a message: JSON-ish, cut short so a pasted certificate does not flood the log. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
}

/** "config error in FILE: " or "config error: " when there is no file. */
export function wherePrefix(file: string | null): string {
  return file === null ? 'config error: ' : `config error in ${file}: `;
}

/** A value of the wrong form at `key` in `file`. */
export function invalidValue(
  file: string | null,
  key: string,
  expected: string,
  got: unknown,
  hint?: string,
): ConfigError {
  return new ConfigError(
    'ROJE_ERR_CONFIG_INVALID',
    `${wherePrefix(file)}${key === '' ? '' : `${key}: `}expected ${expected}, got ${describeValue(got)}${hint ? ` (${hint})` : ''}`,
    { file, key, expected },
  );
}

/** A problem at `key` that is not about the form of one value (a range, a missing file, a conflict). */
export function invalidKey(file: string | null, key: string, why: string, expected: string | null = null) {
  return new ConfigError('ROJE_ERR_CONFIG_INVALID', `${wherePrefix(file)}${key}: ${why}`, {
    file,
    key,
    expected,
  });
}

/** A bad command-line value: `--listen "127.0.0.1": expected host:port ...`. */
export function invalidFlag(flag: string, value: string, expected: string, why?: string): ConfigError {
  return new ConfigError(
    'ROJE_ERR_CONFIG_INVALID',
    `${flag} ${JSON.stringify(value)}: ${why === undefined ? `expected ${expected}` : why}`,
    { file: null, key: flag, expected },
  );
}

/** A duration from `min` to `max` milliseconds, in ms; a ConfigError naming `key` otherwise. */
export function durationWithin(
  file: string | null,
  key: string,
  value: unknown,
  min: number,
  max: number,
): number {
  const ms = parseDuration(value);
  if (ms === null) throw invalidValue(file, key, VALUE_EXPECTED.duration, value);
  if (ms < min || ms > max) {
    throw invalidValue(
      file,
      key,
      `a duration from "${formatDuration(min)}" to "${formatDuration(max)}"`,
      value,
    );
  }
  return ms;
}

/** "no such file or directory (ENOENT)" from a Node system error. */
export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string') {
    const text: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'it is a directory',
      ENOTDIR: 'a parent is not a directory',
    };
    return `${text[e.code] ?? e.message} (${e.code})`;
  }
  return e instanceof Error ? e.message : String(err);
}
