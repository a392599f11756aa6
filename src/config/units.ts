/**
 * Text forms of durations and sizes in the config file. Each parser returns null for anything it
 * does not accept, so the caller can build an error that names the key.
 */

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// Units in strictly decreasing order ("1h30m", not "30m1h"), each at most once: one spelling per value.
const DURATION_RE = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS = ['d', 'h', 'm', 's', 'ms'] as const;

/** The largest duration accepted: about 24 days, so every value fits a setTimeout delay. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** "500ms", "30s", "5m", "6h", "1d", "1h30m" -> milliseconds; also the number 0. */
export function parseDuration(value: unknown): number | null {
  if (value === 0) return 0;
  if (typeof value !== 'string' || value === '') return null;
  const m = DURATION_RE.exec(value.trim());
  if (m === null) return null;
  let ms = 0;
  let any = false;
  for (let i = 0; i < DURATION_UNITS.length; i++) {
    const digits = m[i + 1];
    if (digits === undefined) continue;
    any = true;
    ms += Number(digits) * DURATION_UNIT_MS[DURATION_UNITS[i]];
  }
  if (!any || !Number.isSafeInteger(ms) || ms > MAX_DURATION_MS) return null;
  return ms;
}

/** Milliseconds -> the shortest config spelling ("1d", "1h30m", "500ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of DURATION_UNITS) {
    const size = DURATION_UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const SIZE_RE = /^(\d+)\s*([a-z]*)$/i;

/** "64MiB", "1GB", "512 KiB", "100" or an integer -> bytes. kB/MB/GB are SI, KiB/MiB/GiB binary. */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = SIZE_RE.exec(value.trim());
  if (m === null) return null;
  const unit = m[2] === '' ? 1 : SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Bytes -> a short human form for summaries ("64 MiB", "1.5 GiB", "900 B"). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[i]}`;
}
