/**
 * Where Node keeps the code it compiles (module.enableCompileCache, Node 22.1+), decided before the
 * config is loaded, since most of a start is compiling the modules that load it. Never the shared temp
 * folder Node defaults to: another local user could fill it first. Imports only node: built-ins, so
 * that this decision costs nothing to compile itself.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type CompileCacheChoice =
  /** Node's own variables decide (NODE_COMPILE_CACHE enabled it at start, or NODE_DISABLE_COMPILE_CACHE). */
  { kind: 'node-env' } | { kind: 'dir'; dir: string; from: 'stateDir' | 'user-cache' } | { kind: 'off' };

/**
 * In order: Node's own environment variables; `<stateDir>/compile-cache` when the `--config` file names a
 * stateDir (read with a pattern, not the YAML parser, which is among the modules to be cached); a
 * per-user cache folder (`$XDG_CACHE_HOME/roje/compile-cache`, else `~/.cache/roje/compile-cache`);
 * else off.
 */
export function chooseCompileCache(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readText: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): CompileCacheChoice {
  if (nonEmpty(env.NODE_DISABLE_COMPILE_CACHE) || nonEmpty(env.NODE_COMPILE_CACHE))
    return { kind: 'node-env' };
  const config = configArg(argv);
  if (config !== null) {
    const stateDir = stateDirOf(config, readText);
    if (stateDir !== null) return { kind: 'dir', dir: join(stateDir, 'compile-cache'), from: 'stateDir' };
  }
  const base = nonEmpty(env.XDG_CACHE_HOME)
    ? env.XDG_CACHE_HOME
    : nonEmpty(env.HOME)
      ? join(env.HOME as string, '.cache')
      : null;
  // A relative XDG_CACHE_HOME is invalid by the XDG spec: ignored rather than resolved against the cwd.
  if (base === null || base === undefined || !base.startsWith('/')) return { kind: 'off' };
  return { kind: 'dir', dir: join(base, 'roje', 'compile-cache'), from: 'user-cache' };
}

function nonEmpty(v: string | undefined): boolean {
  return v !== undefined && v !== '';
}

/** The value of `--config FILE` or `--config=FILE` (serve, compile, report), or `check-config FILE`'s. */
function configArg(argv: readonly string[]): string | null {
  if (argv[0] === 'check-config' && argv[1] !== undefined && !argv[1].startsWith('-')) return argv[1];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return null;
}

const STATE_DIR_RE = /^[ \t]*["']?stateDir["']?[ \t]*:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#,}]+))/m;

/** The stateDir a config file names (absolute, resolved like the config does), or null. */
function stateDirOf(file: string, readText: (file: string) => string): string | null {
  let text: string;
  try {
    text = readText(file);
  } catch {
    return null; // the config load reports it
  }
  const m = STATE_DIR_RE.exec(text);
  if (m === null) return null;
  const value = m[1] ?? m[2] ?? m[3];
  if (value === '' || value === 'null' || value === '~') return null;
  return resolve(dirname(resolve(file)), value);
}
