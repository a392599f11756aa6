/**
 * The deployment's time zone (config `timeZone`, an IANA name) for the transparency report: where a
 * calendar month starts and ends, and how an instant is written. Statistics are stored per UTC hour;
 * a local month is the UTC hours that start inside it (in Europe/Tirane, October starts at 22:00 UTC on
 * 30 September, November at 23:00 UTC on 31 October). Only Intl: no time-zone data of our own.
 */
import { RojeError } from '../errors.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True for a time zone this Node's Intl knows ("UTC", "Europe/Tirane"). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wall(ms: number, timeZone: string): Wall {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out as unknown as Wall;
}

/** The zone's offset from UTC at an instant, in ms (Tirane: 3 600 000 in winter, 7 200 000 in summer). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const w = wall(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/** The UTC instant of local midnight starting the 1st of a month (monthIndex 0..11, may overflow). */
export function localMonthStart(year: number, monthIndex: number, timeZone: string): number {
  const asUtc = Date.UTC(year, monthIndex, 1);
  // The offset at midnight may differ from the offset at the UTC guess; the second pass settles it.
  const first = asUtc - zoneOffsetMs(asUtc, timeZone);
  return asUtc - zoneOffsetMs(first, timeZone);
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** ISO 8601 with the zone's offset, to the second: "2026-10-06T14:00:00+02:00"; "…Z" in UTC. */
export function localIso(ms: number, timeZone: string): string {
  const w = wall(ms, timeZone);
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  if (timeZone === 'UTC') return `${date}Z`;
  const offsetMin = Math.round(zoneOffsetMs(ms, timeZone) / 60_000);
  return `${date}${offsetMin < 0 ? '-' : '+'}${pad(Math.trunc(offsetMin / 60))}:${pad(offsetMin % 60)}`;
}

export interface MonthBounds {
  month: string;
  timeZone: string;
  /** UTC instants of the month's local start (inclusive) and end (exclusive). */
  fromMs: number;
  toMs: number;
}

/** The bounds of a month "YYYY-MM" in a zone; ROJE_ERR_STATS_RANGE when it is not one. */
export function monthBounds(month: string, timeZone = 'UTC'): MonthBounds {
  const m = typeof month === 'string' ? /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month) : null;
  if (m === null) {
    throw new RojeError(
      'ROJE_ERR_STATS_RANGE',
      `month "${String(month)}" must be a calendar month written YYYY-MM, e.g. 2026-10`,
    );
  }
  if (!isTimeZone(timeZone)) {
    throw new RojeError('ROJE_ERR_STATS_RANGE', `time zone "${timeZone}" is not an IANA time zone name`);
  }
  const year = Number(m[1]);
  const index = Number(m[2]) - 1;
  return {
    month,
    timeZone,
    fromMs: localMonthStart(year, index, timeZone),
    toMs: localMonthStart(year, index + 1, timeZone),
  };
}
