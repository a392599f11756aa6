/**
 * SafeSearch enforcement at the DNS level: the search engines that serve a filtered version of
 * themselves at a "safe host", and the names of theirs that a resolver answers with a CNAME to it.
 * Built once at load; the per-query match hashes the wire name and allocates nothing.
 *
 * Vendors' instructions for network administrators:
 * - Google: CNAME www.google.com and each country domain to forcesafesearch.google.com
 *   (support.google.com/websearch/answer/186669); the country domains are those of
 *   https://www.google.com/supported_domains.
 * - YouTube: www.youtube.com, m.youtube.com, youtubei.googleapis.com, youtube.googleapis.com and
 *   www.youtube-nocookie.com to restrict.youtube.com (Strict) or restrictmoderate.youtube.com
 *   (Moderate) (support.google.com/a/answer/6214622).
 * - Bing: www.bing.com to strict.bing.com (Microsoft, "Block adult content with SafeSearch" for
 *   schools and networks).
 * - DuckDuckGo: its search pages to safe.duckduckgo.com, where safe search is always on
 *   (duck.co/help/features/safe-search).
 * Other engines (Yandex family search, Pixabay, Ecosia) are left out until their vendors document
 * a DNS-level mode; engines without one are blocked as the category `nosafesearch` (README).
 */

import { encodeName } from '../dns/name.js';

export const SAFE_SEARCH_ENGINES = ['google', 'youtube', 'bing', 'duckduckgo'] as const;
export type SafeSearchEngine = (typeof SAFE_SEARCH_ENGINES)[number];
export const ENGINE_GOOGLE = 0;
export const ENGINE_YOUTUBE = 1;
export const ENGINE_BING = 2;
export const ENGINE_DUCKDUCKGO = 3;

export const YOUTUBE_MODES = ['strict', 'moderate', 'off'] as const;
export type YouTubeMode = (typeof YOUTUBE_MODES)[number];

/** What one policy enforces (config `policies.NAME.safeSearch`, normalized). */
export interface SafeSearchSettings {
  google: boolean;
  bing: boolean;
  duckduckgo: boolean;
  youtube: YouTubeMode;
}

/**
 * `safeSearch: true`: every engine, YouTube Moderate (Strict hides much educational content; an
 * operator who wants it says so).
 */
export const SAFE_SEARCH_ON: Readonly<SafeSearchSettings> = Object.freeze({
  google: true,
  bing: true,
  duckduckgo: true,
  youtube: 'moderate',
});
export const SAFE_SEARCH_OFF: Readonly<SafeSearchSettings> = Object.freeze({
  google: false,
  bing: false,
  duckduckgo: false,
  youtube: 'off',
});

export const SAFE_HOSTS = {
  google: 'forcesafesearch.google.com',
  youtubeStrict: 'restrict.youtube.com',
  youtubeModerate: 'restrictmoderate.youtube.com',
  bing: 'strict.bing.com',
  duckduckgo: 'safe.duckduckgo.com',
} as const;

/** What follows "google." in each of Google's domains (https://www.google.com/supported_domains). */
export const GOOGLE_DOMAINS: readonly string[] = `com ad ae com.af com.ag com.ai al am co.ao com.ar as at
com.au az ba com.bd be bf bg com.bh bi bj com.bn com.bo com.br bs bt co.bw by com.bz ca cd cf cg ch ci co.ck
cl cm cn com.co co.cr com.cu cv com.cy cz de dj dk dm com.do dz com.ec ee com.eg es com.et fi com.fj fm fr
ga ge gg com.gh com.gi gl gm gr com.gt gy com.hk hn hr ht hu co.id ie co.il im co.in iq is it je com.jm jo
co.jp co.ke com.kh ki kg co.kr com.kw kz la com.lb li lk co.ls lt lu lv com.ly co.ma md me mg mk ml com.mm
mn ms com.mt mu mv mw com.mx com.my co.mz com.na com.ng com.ni ne nl no com.np nr nu co.nz com.om com.pa
com.pe com.pg com.ph com.pk pl pn com.pr ps pt com.py com.qa ro ru rw com.sa com.sb sc se com.sg sh si sk
com.sl sn so sm sr st com.sv td tg co.th com.tj tl tm tn to com.tr tt com.tw co.tz com.ua co.ug co.uk
com.uy co.uz com.vc co.ve vg co.vi com.vn vu ws rs co.za co.zm co.zw cat`.split(/\s+/);

/** The names each engine covers: exact names, not their subtrees (mail.google.com is not search). */
export const ENGINE_NAMES: Readonly<Record<SafeSearchEngine, readonly string[]>> = {
  google: GOOGLE_DOMAINS.flatMap((d) => [`google.${d}`, `www.google.${d}`]),
  youtube: [
    'www.youtube.com',
    'm.youtube.com',
    'youtubei.googleapis.com',
    'youtube.googleapis.com',
    'www.youtube-nocookie.com',
  ],
  bing: ['bing.com', 'www.bing.com'],
  duckduckgo: ['duckduckgo.com', 'www.duckduckgo.com', 'start.duckduckgo.com'],
};

/** The safe host of each engine (by index in SAFE_SEARCH_ENGINES) under `settings`; null: not enforced. */
export function safeHosts(settings: SafeSearchSettings): (string | null)[] {
  return [
    settings.google ? SAFE_HOSTS.google : null,
    settings.youtube === 'strict'
      ? SAFE_HOSTS.youtubeStrict
      : settings.youtube === 'moderate'
        ? SAFE_HOSTS.youtubeModerate
        : null,
    settings.bing ? SAFE_HOSTS.bing : null,
    settings.duckduckgo ? SAFE_HOSTS.duckduckgo : null,
  ];
}

/** Which engine a query name belongs to. */
export interface EngineTable {
  readonly size: number;
  /**
   * The engine index (SAFE_SEARCH_ENGINES) of the uncompressed wire name at buf[start, end), end just
   * past its root octet, or -1. ASCII case-insensitive.
   */
  matchWire(buf: Buffer, start: number, end: number): number;
}

/** Open addressing over a power-of-two table kept at most 1/4 full: a miss is one or two probes. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Bytes hashed from each end of a name: enough to tell the engines' names apart, cheap for long ones. */
const HASH_EDGE = 8;

const LOWER = new Uint8Array(256);
for (let b = 0; b < 256; b++) LOWER[b] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;

/**
 * FNV-1a over the length and the first and last HASH_EDGE bytes, lowercased. Names that differ only
 * in the middle collide and are told apart by the byte comparison after the probe.
 */
function hashWire(buf: Uint8Array, start: number, end: number): number {
  let h = Math.imul(FNV_OFFSET ^ (end - start), FNV_PRIME);
  if (end - start <= 2 * HASH_EDGE) {
    for (let i = start; i < end; i++) h = Math.imul(h ^ LOWER[buf[i]], FNV_PRIME);
  } else {
    for (let i = start; i < start + HASH_EDGE; i++) h = Math.imul(h ^ LOWER[buf[i]], FNV_PRIME);
    for (let i = end - HASH_EDGE; i < end; i++) h = Math.imul(h ^ LOWER[buf[i]], FNV_PRIME);
  }
  return h >>> 0;
}

export function createEngineTable(
  names: Readonly<Record<SafeSearchEngine, readonly string[]>> = ENGINE_NAMES,
): EngineTable {
  const wires: Buffer[] = [];
  const engines: number[] = [];
  SAFE_SEARCH_ENGINES.forEach((engine, index) => {
    for (const name of names[engine]) {
      wires.push(encodeName(name.toLowerCase()));
      engines.push(index);
    }
  });
  let slots = 16;
  while (slots < wires.length * 4) slots *= 2;
  const mask = slots - 1;
  // Entry index + 1 per slot; 0 is empty.
  const table = new Int32Array(slots);
  const bytes = Buffer.concat(wires);
  const starts = new Int32Array(wires.length);
  const lengths = new Int32Array(wires.length);
  const engineOf = Uint8Array.from(engines);
  let minLen = 256;
  let maxLen = 0;
  let offset = 0;
  wires.forEach((w, i) => {
    starts[i] = offset;
    lengths[i] = w.length;
    offset += w.length;
    minLen = Math.min(minLen, w.length);
    maxLen = Math.max(maxLen, w.length);
    let s = hashWire(w, 0, w.length) & mask;
    for (;;) {
      const at = table[s];
      if (at === 0) break;
      // The same name listed twice keeps its first engine.
      if (
        lengths[at - 1] === w.length &&
        bytes.compare(w, 0, w.length, starts[at - 1], starts[at - 1] + w.length) === 0
      )
        return;
      s = (s + 1) & mask;
    }
    table[s] = i + 1;
  });

  return {
    size: wires.length,
    matchWire(buf, start, end) {
      const len = end - start;
      if (len < minLen || len > maxLen) return -1;
      let s = hashWire(buf, start, end) & mask;
      for (;;) {
        const at = table[s];
        if (at === 0) return -1;
        const i = at - 1;
        if (lengths[i] === len) {
          const base = starts[i];
          let k = 0;
          while (k < len && LOWER[buf[start + k]] === bytes[base + k]) k++;
          if (k === len) return engineOf[i];
        }
        s = (s + 1) & mask;
      }
    },
  };
}
