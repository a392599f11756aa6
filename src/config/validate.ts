import type { ErrorObject } from 'ajv';
import { cidrProblem } from '../net/cidr.js';
import { ConfigError, invalidKey, invalidValue, wherePrefix } from './config-error.js';
import { editDistance } from './edit-distance.js';
import { upstreamUrlProblem } from './formats.js';
import { ConfigSchema, EXPECTED, type RawConfig } from './schema.js';
import { loadSchemaCheck } from './schema-check.js';
import { listenHint } from './sections/common.js';
import { parseDuration } from './units.js';

export { listenHint } from './sections/common.js';

/**
 * Schema validation with ajv, and the translation of ajv's errors into one message an operator can
 * act on: the dotted key, the expected form in words, what was found, and a hint where we can guess
 * the mistake. Defaults are filled in by ajv (`useDefaults`) on a copy of the input.
 */

const check = await loadSchemaCheck();

/**
 * Checks the shape of a parsed config file and fills in defaults. `raw` is not modified.
 * `file` names the source in messages (null: the embedded default). Throws ConfigError.
 */
export function checkSchema(raw: unknown, file: string | null): RawConfig {
  const data = raw === null || raw === undefined ? {} : structuredClone(raw);
  if (check(data)) return data;
  throw translate(check.errors ?? [], file);
}

// ---- error translation ----------------------------------------------------------------------

type Schema = Record<string, unknown>;

function translate(errors: ErrorObject[], file: string | null): ConfigError {
  // An anyOf error speaks for the whole value, so the branch errors at the same place are noise.
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const relevant = errors.filter(
    (e) =>
      e.keyword === 'anyOf' ||
      e.keyword === 'additionalProperties' ||
      e.keyword === 'required' ||
      !unionPaths.has(e.instancePath),
  );
  const pool = relevant.length > 0 ? relevant : errors;
  // A misspelt key usually explains the other errors, so it goes first; then the deepest problem.
  const unknown = pool.find((e) => e.keyword === 'additionalProperties');
  const chosen = unknown ?? pool.reduce((best, e) => (depth(e) > depth(best) ? e : best), pool[0]);
  return explain(chosen, file);
}

function depth(e: ErrorObject): number {
  const d = e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1;
  return e.keyword === 'required' || e.keyword === 'additionalProperties' ? d + 1 : d;
}

/** "/upstreams/1/url" -> "upstreams[1].url". */
export function keyPath(instancePath: string, child?: string): string {
  const parts = instancePath === '' ? [] : instancePath.slice(1).split('/');
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function explain(e: ErrorObject, file: string | null): ConfigError {
  const schema = (e.parentSchema ?? {}) as Schema;
  const key = keyPath(e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String((e.params as { additionalProperty: string }).additionalProperty);
      const full = keyPath(e.instancePath, name);
      if (schema.patternProperties !== undefined) {
        // A mapping of user-chosen names (policies): the name itself is what is wrong.
        const expected = 'a name of letters, digits, "-" and "_" (at most 64)';
        return invalidKey(
          file,
          full,
          `${JSON.stringify(name)} is not a valid name: expected ${expected}`,
          expected,
        );
      }
      const known = Object.keys((schema.properties ?? {}) as Schema);
      const guess = suggest(name, e.instancePath, known);
      const tail = guess !== null ? ` (did you mean "${guess}"?)` : ` (known keys here: ${known.join(', ')})`;
      return new ConfigError('ROJE_ERR_CONFIG_INVALID', `${wherePrefix(file)}unknown key "${full}"${tail}`, {
        file,
        key: full,
        expected: `one of ${known.join(', ')}`,
      });
    }
    case 'required': {
      const name = String((e.params as { missingProperty: string }).missingProperty);
      const full = keyPath(e.instancePath, name);
      const sub = ((schema.properties ?? {}) as Record<string, Schema>)[name];
      const expected = expectedOf(sub ?? {});
      return invalidKey(file, full, `is required: expected ${expected}`, expected);
    }
    case 'anyOf': {
      // Pick the branch meant by the data's type, to say precisely what is wrong with it.
      const branch = ((schema.anyOf ?? []) as Schema[]).find((b) => b.type === jsonType(e.data));
      if (branch?.format !== undefined && typeof e.data === 'string') {
        return formatError({ 'x-expected': schema['x-expected'], ...branch }, e.data, key, file);
      }
      const expected = expectedOf(schema);
      return invalidValue(file, key, expected, e.data, valueHint(schema, e.data));
    }
    case 'format':
      return formatError(schema, e.data, key, file);
    case 'minimum':
    case 'maximum':
      return invalidValue(file, key, rangeText(schema), e.data);
    case 'minItems':
      return invalidKey(
        file,
        key,
        `needs at least ${String(schema.minItems)} entry: expected a list of ${expectedOf((schema.items ?? {}) as Schema)}`,
        `a list of ${expectedOf((schema.items ?? {}) as Schema)}`,
      );
    default:
      return invalidValue(file, key, expectedOf(schema), e.data);
  }
}

function formatError(schema: Schema, value: unknown, key: string, file: string | null): ConfigError {
  if (schema.format === 'upstream-url' && typeof value === 'string') {
    return invalidKey(file, key, upstreamUrlProblem(value) ?? 'is not valid', EXPECTED.upstreamUrl);
  }
  return invalidValue(file, key, expectedOf(schema), value, valueHint(schema, value));
}

function expectedOf(schema: Schema): string {
  if (typeof schema['x-expected'] === 'string') return schema['x-expected'];
  if (schema.type === 'integer' || schema.type === 'number') return rangeText(schema);
  switch (schema.type) {
    case 'object':
      return 'a mapping of keys (key: value)';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    default:
      return 'a valid value';
  }
}

function rangeText(schema: Schema): string {
  const kind = schema.type === 'integer' ? 'a whole number' : 'a number';
  const { minimum: min, maximum: max } = schema as { minimum?: number; maximum?: number };
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} of at least ${min}`;
  if (max !== undefined) return `${kind} of at most ${max}`;
  return kind;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

/** The format a schema (or one of its anyOf branches) stands for. */
function formatOf(schema: Schema): string | undefined {
  if (typeof schema.format === 'string') return schema.format;
  const branch = ((schema.anyOf ?? []) as Schema[]).find((b) => typeof b.format === 'string');
  return branch?.format as string | undefined;
}

/** A guess at the mistake, for the common ones. */
function valueHint(schema: Schema, value: unknown): string | undefined {
  const format = formatOf(schema);
  if (format === 'duration' || format === 'ttl') {
    if (typeof value === 'number')
      return `a bare number is ambiguous: add a unit, e.g. "${value}s" or "${value}ms"`;
    if (typeof value !== 'string') return undefined;
    if (/[A-Z]/.test(value) && parseDuration(value.toLowerCase()) !== null) {
      return 'units are lowercase: ms, s, m, h, d';
    }
    if (/^\d+(\.\d+)?$/.test(value.trim())) return 'add a unit: ms, s, m, h or d';
    if (/\d\.\d/.test(value)) return 'use whole numbers, e.g. "1500ms" or "1m30s"';
    const ms = parseDuration(value);
    if (ms !== null && format === 'ttl') return 'DNS TTLs are whole seconds';
    if (ms === null && /^(\d+(ms|s|m|h|d))+$/.test(value.trim())) {
      return 'write the units largest first, at most once each, up to about 24 days';
    }
    return undefined;
  }
  if (format === 'byte-size' && typeof value === 'number')
    return 'a size is a whole number of bytes, 0 or more';
  if (format === 'listen' && typeof value === 'string') return listenHint(value);
  if (format === 'cidr' && typeof value === 'string') return cidrProblem(value) ?? undefined;
  return undefined;
}

// ---- "did you mean" -------------------------------------------------------------------------

/** Every dotted key path of the schema ("cache.serveStale.maxStale"); used by tests and suggestions. */
export function schemaKeyPaths(schema: Schema = ConfigSchema as unknown as Schema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    out.push(path);
    if (sub.type === 'object' && sub.properties !== undefined) out.push(...schemaKeyPaths(sub, path));
    // Upstream entries may be objects: their keys are part of the grammar too. So are the entries of a
    // list that may also be null (`lists`).
    const arrays = ((sub.anyOf ?? [sub]) as Schema[]).filter((b) => b.type === 'array');
    for (const array of arrays) {
      const items = array.items as Schema;
      for (const branch of (items.anyOf ?? [items]) as Schema[]) {
        if (branch.type === 'object') out.push(...schemaKeyPaths(branch, `${path}[]`));
      }
    }
  }
  return out;
}

function suggest(name: string, instancePath: string, siblings: string[]): string | null {
  const parent = keyPath(instancePath);
  const join = (k: string) => (parent === '' ? k : `${parent}.${k}`);
  const lower = name.toLowerCase();
  const same = siblings.find((k) => k.toLowerCase() === lower);
  if (same !== undefined) return join(same);
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of siblings) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = join(k);
      bestDistance = d;
    }
  }
  if (best !== null) return best;
  // The right key in the wrong section ("maxTtl" at the top level): name where it belongs.
  const elsewhere = schemaKeyPaths().find((p) => p.split('.').pop()?.toLowerCase() === lower);
  return elsewhere ?? null;
}
