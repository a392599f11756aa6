/** `listen`: where roje answers DNS; also the listen-address helpers of the other listeners. */
import type { Static } from '@sinclair/typebox';
import { addressKey, formatListenAddress, parseListenAddress } from '../../net/address.js';
import type { ListenAddress } from '../../transport/types.js';
import { invalidFlag, invalidKey, invalidValue } from '../config-error.js';
import { Type } from '../json-schema.js';
import { ListenString, listenHint, type SectionContext, VALUE_EXPECTED } from './common.js';

export const ListenSchema = Type.Array(ListenString, {
  minItems: 1,
  default: ['127.0.0.1:5353', '[::1]:5353'],
  description: 'addresses to answer on, UDP and TCP on each',
});

export type ListenConfig = ReturnType<typeof normalizeListen>;

/**
 * The addresses, parsed; `--listen` flags replace the file's list. An address given twice is a
 * mistake (the second bind would fail later, less clearly), except port 0: each is a new port.
 */
export function normalizeListen(
  ctx: SectionContext,
  raw: Static<typeof ListenSchema>,
  flags: readonly string[] | undefined,
): ListenAddress[] {
  const fromFlags = flags !== undefined && flags.length > 0;
  const listen: ListenAddress[] = [];
  const seen = new Set<string>();
  (fromFlags ? flags : raw).forEach((text, i) => {
    const address = parseListenAddress(text);
    if (address === null) {
      const hint = listenHint(text);
      const expected = VALUE_EXPECTED.listen;
      throw fromFlags
        ? invalidFlag('--listen', text, hint === undefined ? expected : `${expected} (${hint})`)
        : invalidValue(ctx.file, `listen[${i}]`, expected, text);
    }
    const id = `${addressKey(address.host)}|${address.port}`;
    if (address.port !== 0 && seen.has(id)) {
      const why = `"${formatListenAddress(address)}" is listed twice`;
      throw fromFlags
        ? invalidFlag('--listen', text, VALUE_EXPECTED.listen, why)
        : invalidKey(ctx.file, `listen[${i}]`, why);
    }
    seen.add(id);
    listen.push(address);
  });
  return listen;
}

/** A listen address from the file (block page, admin, metrics listeners). */
export function listenValue(file: string | null, key: string, text: string): ListenAddress {
  const address = parseListenAddress(text);
  if (address === null) throw invalidValue(file, key, VALUE_EXPECTED.listen, text);
  return address;
}

/** A listen address from a command-line flag (--admin, --blockpage). */
export function listenFlag(flag: string, text: string): ListenAddress {
  const address = parseListenAddress(text);
  if (address === null) throw invalidFlag(flag, text, VALUE_EXPECTED.listen);
  return address;
}
