/** Counting helpers every parser shares: one place decides how many samples are kept and how long. */
import type { ListFormat, ListParser, ListRule, ParseNote, ParseStats, SkipReason } from '../types.js';

export const MAX_SAMPLES = 20;
/** A sample line is cut to this many characters: enough to recognize it, bounded for a hostile file. */
export const MAX_SAMPLE_TEXT = 200;

export function createStats(): ParseStats {
  return { lines: 0, rules: 0, skipped: {}, samples: [], notes: {} };
}

/** Counts a skipped line (or one name of a hosts line) and keeps the first MAX_SAMPLES of them. */
export function recordSkip(stats: ParseStats, line: number, reason: SkipReason, text: string): void {
  stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
  if (stats.samples.length < MAX_SAMPLES) {
    stats.samples.push({
      line,
      reason,
      text: text.length > MAX_SAMPLE_TEXT ? `${text.slice(0, MAX_SAMPLE_TEXT)}...` : text,
    });
  }
}

export function recordNote(stats: ParseStats, note: ParseNote): void {
  if (stats.notes === undefined) stats.notes = {};
  stats.notes[note] = (stats.notes[note] ?? 0) + 1;
}

/** Lines skipped, all reasons. */
export function skippedTotal(stats: ParseStats): number {
  let n = 0;
  for (const v of Object.values(stats.skipped)) n += v ?? 0;
  return n;
}

const SPACE = 0x20;
const TAB = 0x09;

export function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === 0x0d || c === 0x0b || c === 0x0c;
}

/**
 * Splits on runs of blanks (space, tab, CR) without a regex: the per-line hot path of hosts and RPZ.
 * `out` is reused by the caller; returns the number of tokens written.
 */
export function splitBlanks(s: string, out: string[]): number {
  let n = 0;
  let i = 0;
  const len = s.length;
  while (i < len) {
    while (i < len && isBlank(s.charCodeAt(i))) i++;
    if (i >= len) break;
    const start = i;
    while (i < len && !isBlank(s.charCodeAt(i))) i++;
    out[n++] = s.slice(start, i);
  }
  return n;
}

/**
 * A parser's synchronous core: fed one line at a time, it appends the rules of that line to `out`.
 * Lists run to millions of lines, and an async step per line costs more than the parsing itself, so
 * `openList` feeds whole chunks of lines to a reader; `ListParser.parse` wraps the same reader for any
 * async line source.
 */
export interface LineReader {
  line(text: string, out: ListRule[]): void;
  /** End of input: flushes a rule held back for merging. */
  end(out: ListRule[]): void;
}

export interface LineParser extends ListParser {
  createReader(stats: ParseStats): LineReader;
}

export function lineParser(format: ListFormat, createReader: (stats: ParseStats) => LineReader): LineParser {
  return {
    format,
    createReader,
    async *parse(lines: AsyncIterable<string>, stats: ParseStats): AsyncGenerator<ListRule> {
      const reader = createReader(stats);
      const out: ListRule[] = [];
      for await (const text of lines) {
        reader.line(text, out);
        if (out.length > 0) {
          for (let i = 0; i < out.length; i++) yield out[i];
          out.length = 0;
        }
      }
      reader.end(out);
      for (let i = 0; i < out.length; i++) yield out[i];
    },
  };
}
