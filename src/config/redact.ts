/**
 * The one place that knows where a config keeps secrets, for every output of it: the admin API's
 * config view, `roje check-config` and the startup summary, status, logs and feed files. A secret in a
 * config is one of: a URL's user info or query values (API keys travel there: feeds, fleet pulls, DoH
 * upstreams), a token's hash, an inline PEM. File paths are not secrets (the files are).
 */
import type { RojeConfig } from './schema.js';

/** What stands in for a redacted query value. */
export const REDACTED = 'REDACTED';

/**
 * A URL fit for logs, status and messages: no user or password, no fragment, and query values (API
 * keys often travel there) replaced. "https://u:p@h/l.txt?key=abc" -> "https://h/l.txt?key=REDACTED".
 * Text that does not parse as a URL says so rather than echo what may be a secret.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(not a valid URL)';
  }
  u.username = '';
  u.password = '';
  u.hash = '';
  const keys = [...u.searchParams.keys()];
  if (keys.length > 0) {
    u.search = keys.map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join('&');
  }
  return u.toString();
}

/** Keys whose values are secrets wherever they sit in the config (the admin tokens' hashes). */
const SECRET_KEYS = new Set(['sha256']);
/** Keys holding inline PEM (an upstream's own CA): not secret, but long and of no use in a view. */
const PEM_KEYS = new Set(['ca']);

/**
 * The config for showing (GET /api/v1/config): every URL-like string anywhere in it redacted with
 * redactUrl (so a key added later is covered without a change here), token hashes left out, inline PEM
 * replaced. udp/tcp/tls upstream URLs keep their #servername: their grammar admits no user info or
 * query, so they carry no secret.
 */
export function redactConfig(config: RojeConfig): unknown {
  return redactValue(config, '');
}

function redactValue(value: unknown, key: string): unknown {
  if (typeof value === 'string') {
    if (PEM_KEYS.has(key)) return '(PEM, not shown)';
    return redactUrlIn(value);
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEYS.has(k)) continue;
    out[k] = redactValue(v, k);
  }
  return out;
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A string as shown: a URL with user info, a query or (http) a fragment redacted; anything else as is. */
export function redactUrlIn(text: string): string {
  if (!URL_LIKE.test(text)) return text;
  if (/^https?:/i.test(text)) return redactUrl(text);
  return /[@?]/.test(text) ? redactUrl(text) : text;
}

/**
 * For messages about a URL that may not parse (a config error): the text as written, less anything
 * that could be a secret (user info, query, fragment of an http URL), so the operator still sees which
 * value is wrong.
 */
export function redactUrlText(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/\?.*$/s, '?…');
}
