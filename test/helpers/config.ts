import { ConfigError } from '../../src/config/config-error.js';
import { validateConfig } from '../../src/config/load.js';

/**
 * Config validation as from a file at `file`, with loopback upstreams filled in: `load` normalizes,
 * `fail` expects a ConfigError and returns it (so tests can check the key and the message).
 */
export function configChecker(file: string, upstreams: string[] = ['udp://127.0.0.1:5300']) {
  const load = (raw: Record<string, unknown>, flags = {}) =>
    validateConfig({ upstreams, ...raw }, file, flags);
  const fail = async (raw: Record<string, unknown>, flags = {}): Promise<ConfigError> => {
    try {
      await load(raw, flags);
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error(`expected ${JSON.stringify(raw)} ${JSON.stringify(flags)} to be rejected`);
  };
  return { load, fail };
}
