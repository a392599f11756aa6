/**
 * Canary fixtures: names that stand in for confidential abuse-feed entries, so that a test can block
 * them and then look for them in every output (logs, API answers, files, pages), where none may show.
 * Every name is under .test or .example (RFC 6761 / RFC 2606): none exists on the internet.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The bundled synthetic abuse feed (not real IWF data): a domain, a site URL and two page URLs. */
export const ABUSE_CANARY_FILE = resolve(import.meta.dirname, '../../blocklists/samples/abuse-test.txt');
export const ABUSE_CANARY_TEXT = readFileSync(ABUSE_CANARY_FILE, 'utf8');

/** The hosts of its entries: a whole domain, a site written as a URL, and the host of the two pages. */
export const ABUSE_CANARY = {
  domain: 'canary-domain.abuse.roje.test',
  site: 'canary-site.abuse.roje.test',
  page: 'canary-page.abuse.roje.test',
} as const;
export const ABUSE_CANARY_NAMES: readonly string[] = [
  ABUSE_CANARY.domain,
  ABUSE_CANARY.site,
  ABUSE_CANARY.page,
];
/** The distinctive first label of each. */
export const ABUSE_CANARY_LABELS: readonly string[] = ['canary-domain', 'canary-site', 'canary-page'];
/** What the first page entry adds after its host. */
export const ABUSE_CANARY_PAGE_PATH = 'gallery/0001.jpg';

/**
 * Every string that would betray the feed in output meant to hold only its hashes (a hashed copy, an
 * artifact, a status): the names, their labels and parts, down to the bare word "canary".
 */
export const ABUSE_CANARY_SECRETS: readonly string[] = [
  ...ABUSE_CANARY_NAMES,
  ...ABUSE_CANARY_LABELS,
  'canary',
  'abuse.roje.test',
  ...ABUSE_CANARY_PAGE_PATH.split('/'),
];

/** A confidential entry for the block page's own tests (test/helpers/blockpage.ts). */
export const BLOCKPAGE_ABUSE_CANARY = 'canary-abuse-7f3a.roje.test';

/** The one entry of the small abuse list that the operations and report tests write themselves. */
export const LOCAL_ABUSE_CANARY = 'canary-abuse.example';
