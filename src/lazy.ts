/**
 * Packages that only some deployments or later moments use (fastify for the admin API and the block
 * page, undici for feeds, fleet pulls and DoH, dns-packet for the self-test, pg for a shared store,
 * prom-client, the SQLite driver) load on first use instead of at start: a resolver without them
 * answers sooner and holds less memory (~1 s and ~50 MiB on a small machine). They are CommonJS, so
 * `require` loads them synchronously, where they are first needed.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `() => the module`, loaded at the first call. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
