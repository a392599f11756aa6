import { parseArgs } from 'node:util';
import { hashToken, newToken, ROLES, type Role } from '../admin/auth.js';
import type { Io } from './index.js';

const USAGE = `Usage: roje token --name NAME --role ${ROLES.join('|')}`;

/**
 * `roje token`: makes an admin API token. The token goes to stdout once, for its holder; the config
 * (or the tokens file) keeps only its SHA-256, printed as the entry to paste under `admin.tokens`.
 */
export async function token(argv: readonly string[], io: Io): Promise<number> {
  let values: { name?: string; role?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { name: { type: 'string' }, role: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    io.stderr.write(`roje token: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { name, role } = values;
  if (name === undefined || !/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(name)) {
    io.stderr.write(
      `roje token: --name is required: who holds the token (letters, digits, "_.@-")\n${USAGE}\n`,
    );
    return 2;
  }
  if (role === undefined || !(ROLES as readonly string[]).includes(role)) {
    io.stderr.write(`roje token: --role must be one of ${ROLES.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const secret = newToken();
  io.stdout.write(
    `token (give it to ${name}; it is not stored anywhere):\n  ${secret}\n` +
      `config entry (admin.tokens or the tokens file):\n` +
      `  - { name: ${name}, role: ${role as Role}, sha256: ${hashToken(secret)} }\n`,
  );
  return 0;
}
