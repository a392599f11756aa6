/**
 * `timeZone`: the deployment's time zone (an IANA name). The transparency report's months start and
 * end in it and its times are written in it; statistics themselves stay stored per UTC hour.
 */
import type { Static } from '@sinclair/typebox';
import { invalidValue } from '../config-error.js';
import { Type } from '../json-schema.js';
import type { SectionContext } from './common.js';

const EXPECTED = 'an IANA time zone name such as "UTC" or "Europe/Tirane"';

export const TimeZoneSchema = Type.String({
  minLength: 1,
  default: 'UTC',
  description: 'the time zone of the transparency report (its months and times)',
  'x-expected': EXPECTED,
});

/** The zone as Intl names it ("utc" -> "UTC"); a name this Node does not know is a config error. */
export function normalizeTimeZone(ctx: SectionContext, raw: Static<typeof TimeZoneSchema>): string {
  // The default needs no check: asking Intl loads its time zone data, ~20 ms of every start.
  if (raw === 'UTC') return raw;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: raw }).resolvedOptions().timeZone;
  } catch {
    throw invalidValue(ctx.file, 'timeZone', EXPECTED, raw);
  }
}
