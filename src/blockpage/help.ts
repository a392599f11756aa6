import { RojeError } from '../errors.js';
import type { LocalText } from './i18n.js';

/**
 * Where the block page sends people for help. Every entry is configurable per deployment; the defaults
 * suit Albania. URLs must be http(s): they become links on a page that must not run anything.
 */
export interface BlockPageHelp {
  /** The national illegal-content reporting portal. */
  reportPortal: { name: LocalText; url: string };
  /** The child helpline: the number is shown and dialable (tel:). */
  helpline: { name: LocalText; number: string; url: string | null };
  /** Who to contact about a page of the confidential (IWF-style) category blocked in error. */
  abuseAppeals: { text: LocalText; url: string | null };
  /** A help service for people worried about their own sexual thoughts about children. */
  worriedHelp: { name: LocalText; url: string };
}

/** What an operator may give: any part, merged over the defaults. */
export interface BlockPageHelpInput {
  reportPortal?: Partial<BlockPageHelp['reportPortal']>;
  helpline?: Partial<BlockPageHelp['helpline']>;
  abuseAppeals?: Partial<BlockPageHelp['abuseAppeals']>;
  worriedHelp?: Partial<BlockPageHelp['worriedHelp']>;
}

export const DEFAULT_HELP: BlockPageHelp = {
  // AKCESK (now AKSK, the National Cyber Security Authority) leads child online protection in Albania's
  // cyber security strategy; a deployment points this at the reporting portal it is told to use.
  reportPortal: {
    name: {
      sq: 'Raportimi i përmbajtjes së paligjshme',
      en: 'Reporting illegal content (Raportimi i përmbajtjes së paligjshme)',
    },
    url: 'https://aksk.gov.al/',
  },
  // ALO 116 111: Albania's national child helpline, on the EU-wide free number for child helplines.
  helpline: { name: 'ALO 116 111', number: '116111', url: 'https://www.alo116.al/' },
  abuseAppeals: {
    text: {
      sq: 'ofruesin e shërbimit të internetit të këtij rrjeti',
      en: 'the internet access provider of this network',
    },
    url: null,
  },
  // Troubled Desire (Charité Berlin): free, anonymous, multilingual self-help; records no IP addresses.
  worriedHelp: { name: 'Troubled Desire', url: 'https://troubled-desire.com/' },
};

export function resolveHelp(input: BlockPageHelpInput | undefined): BlockPageHelp {
  const help: BlockPageHelp = {
    reportPortal: { ...DEFAULT_HELP.reportPortal, ...input?.reportPortal },
    helpline: { ...DEFAULT_HELP.helpline, ...input?.helpline },
    abuseAppeals: { ...DEFAULT_HELP.abuseAppeals, ...input?.abuseAppeals },
    worriedHelp: { ...DEFAULT_HELP.worriedHelp, ...input?.worriedHelp },
  };
  checkUrl('help.reportPortal.url', help.reportPortal.url);
  checkUrl('help.helpline.url', help.helpline.url);
  checkUrl('help.abuseAppeals.url', help.abuseAppeals.url);
  checkUrl('help.worriedHelp.url', help.worriedHelp.url);
  if (!/^\+?[0-9]{2,15}$/.test(help.helpline.number)) {
    throw new RojeError(
      'ROJE_ERR_BLOCKPAGE_OPTIONS',
      `blockPage.help.helpline.number ${JSON.stringify(help.helpline.number)} is not a phone number; write digits only, e.g. "116111"`,
    );
  }
  return help;
}

function checkUrl(key: string, url: string | null): void {
  if (url === null) return;
  let ok = false;
  try {
    const parsed = new URL(url);
    ok = parsed.protocol === 'https:' || parsed.protocol === 'http:' || parsed.protocol === 'mailto:';
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new RojeError(
      'ROJE_ERR_BLOCKPAGE_OPTIONS',
      `blockPage.${key} ${JSON.stringify(url)} is not an http(s) or mailto URL; write e.g. "https://example.al/"`,
    );
  }
}
