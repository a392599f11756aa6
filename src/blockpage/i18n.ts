/**
 * The block page speaks Albanian and English. Every visible word lives here, in one table per language,
 * so that a translation is reviewed in one place and the templates hold no prose.
 */

export const LANGS = ['sq', 'en'] as const;
export type Lang = (typeof LANGS)[number];

/** A text an operator may give in one form for both languages, or per language. */
export type LocalText = string | { sq: string; en: string };

export function localText(text: LocalText, lang: Lang): string {
  return typeof text === 'string' ? text : text[lang];
}

export function isLang(value: unknown): value is Lang {
  return value === 'sq' || value === 'en';
}

/**
 * The language for a request: `?lang=` first (the switch links), then the best Accept-Language match
 * by q-value (RFC 9110 12.5.4; `sq-AL` matches `sq`, `*` matches the fallback), then the fallback.
 */
export function negotiateLang(
  query: string | undefined,
  acceptLanguage: string | undefined,
  fallback: Lang,
): Lang {
  if (isLang(query)) return query;
  if (acceptLanguage === undefined || acceptLanguage.length > 512) return fallback;
  let best: Lang = fallback;
  let bestQ = 0;
  // Bounded: at most 32 entries are read, whatever the header holds.
  for (const part of acceptLanguage.split(',', 32)) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const param of params) {
      const [k, v] = param.trim().split('=');
      if (k === 'q') q = Number.parseFloat(v ?? '');
    }
    if (!(q > 0 && q <= 1)) continue;
    const primary = range.split('-')[0];
    const lang: Lang | undefined = primary === '*' ? fallback : isLang(primary) ? primary : undefined;
    // Strictly greater: on a tie the earlier entry wins, as the client listed it first.
    if (lang !== undefined && q > bestQ) {
      best = lang;
      bestQ = q;
    }
  }
  return best;
}

/**
 * Display names of the categories roje's feeds use and of the internal reasons a block can have
 * (venue-deny: the venue's own deny list; nosafesearch: a search engine without a safe mode). The
 * config's `categoryNames` adds to them or replaces one; any other id is shown in a readable form.
 */
const CATEGORY_NAMES: Record<string, { sq: string; en: string }> = {
  'venue-deny': { sq: 'E bllokuar nga ky rrjet', en: 'Blocked by this network' },
  nosafesearch: {
    sq: 'Kërkim pa filtër sigurie (SafeSearch)',
    en: 'Search without a safe mode (SafeSearch)',
  },
  override: { sq: 'E bllokuar nga operatori', en: 'Blocked by the operator' },
  adult: { sq: 'Përmbajtje për të rritur', en: 'Adult content' },
  gambling: { sq: 'Lojëra fati dhe baste', en: 'Gambling and betting' },
  abuse: { sq: 'Abuzim seksual me fëmijë', en: 'Child sexual abuse' },
  malware: { sq: 'Program i dëmshëm (malware)', en: 'Malware' },
  phishing: {
    sq: 'Mashtrim për të vjedhur të dhëna (phishing)',
    en: 'Phishing (stealing passwords or data)',
  },
  scam: { sq: 'Mashtrim', en: 'Scam' },
  'doh-bypass': {
    sq: 'Anashkalim i filtrit (DNS i koduar, VPN, proxy)',
    en: 'Filter bypass (encrypted DNS, VPN, proxy)',
  },
  proxy: { sq: 'Proxy dhe VPN', en: 'Proxies and VPNs' },
  violence: { sq: 'Dhunë', en: 'Violence' },
  drugs: { sq: 'Drogë', en: 'Drugs' },
  weapons: { sq: 'Armë', en: 'Weapons' },
  hate: { sq: 'Urrejtje dhe diskriminim', en: 'Hate and discrimination' },
  'self-harm': { sq: 'Vetëdëmtim', en: 'Self-harm' },
  dating: { sq: 'Takime në internet', en: 'Online dating' },
  piracy: { sq: 'Pirateri', en: 'Piracy' },
  cryptomining: { sq: 'Minim kriptomonedhash', en: 'Cryptocurrency mining' },
  ads: { sq: 'Reklama', en: 'Advertising' },
  tracking: { sq: 'Gjurmim', en: 'Tracking' },
  deny: { sq: 'E bllokuar nga operatori', en: 'Blocked by the operator' },
};

export type CategoryNames = Readonly<Record<string, { sq: string; en: string }>>;

/** A category's display name: the config's, else the built-in one, else readableId(id). */
export function categoryName(id: string, lang: Lang, custom: CategoryNames = {}): string {
  return categoryDisplayName(id, custom)[lang];
}

export function categoryDisplayName(id: string, custom: CategoryNames = {}): { sq: string; en: string } {
  if (Object.hasOwn(custom, id)) return custom[id];
  if (Object.hasOwn(CATEGORY_NAMES, id)) return CATEGORY_NAMES[id];
  const readable = readableId(id);
  return { sq: readable, en: readable };
}

/** "my-own_list" -> "My own list": a category with no display name, never its raw id. */
export function readableId(id: string): string {
  const words = id.replace(/[-_.]+/g, ' ').trim();
  return words === '' ? '?' : words[0].toUpperCase() + words.slice(1);
}

/** `{name}` placeholders are filled by the templates, always with escaped values. */
export const TEXT = {
  sq: {
    langName: 'Shqip',
    skip: 'Kalo te përmbajtja',
    blockedTitle: 'Kjo faqe është e bllokuar',
    blockedLead: 'Kjo faqe nuk hapet në këtë rrjet, sepse mund të mos jetë e sigurt ose e përshtatshme këtu.',
    notYourFault: 'Nuk ke bërë asgjë të gabuar. Mund të vazhdosh të përdorësh internetin si zakonisht.',
    details: 'Pse u bllokua',
    site: 'Faqja',
    category: 'Kategoria',
    categories: 'Kategoritë',
    network: 'Rrjeti',
    operator: 'Ofruar nga',
    reportTitle: 'Mendon se është gabim?',
    reportLead: 'Na trego dhe dikush do ta shqyrtojë. Nuk të duhet të shkruash asgjë tjetër.',
    messageLabel: 'Mesazh (jo i detyrueshëm)',
    messageHint: 'Mos shkruaj emrin, numrin e telefonit apo të dhëna të tjera personale.',
    send: 'Dërgo raportin',
    helpTitle: 'Ke nevojë për ndihmë?',
    helpline:
      'Nëse diçka në internet të shqetëson ose të frikëson, fol me një të rritur që i beson, ose telefono falas {helpline} në numrin {number}.',
    portal: 'Për të raportuar përmbajtje të paligjshme në internet: {portal}.',
    thanksTitle: 'Faleminderit!',
    thanksLead: 'Raporti yt u dërgua. Dikush do ta shqyrtojë sa më shpejt.',
    thanksReference: 'Referenca jote: {reference}. Ruaje për të parë si përfundoi raporti.',
    outcomeLink: 'Shiko gjendjen e raportit',
    outcomeTitle: 'Gjendja e raportit',
    outcomeOpen: 'Në pritje: raporti yt nuk është shqyrtuar ende.',
    outcomeAccepted: 'Pranuar: raporti yt u pranua.',
    outcomeRejected: 'Refuzuar: raporti yt u shqyrtua dhe bllokimi mbetet.',
    outcomeUnknownTitle: 'Raporti nuk u gjet',
    outcomeUnknownLead: 'Asnjë raport nuk ka këtë referencë.',
    back: 'Kthehu te faqja e mëparshme',
    neutralTitle: 'Asgjë nuk është bllokuar këtu',
    neutralLead:
      'Kjo adresë shfaq vetëm njoftimet e bllokimit. Nëse po prisje një faqe tjetër, provo ta hapësh sërish pas pak minutash.',
    badRequestTitle: 'Raporti nuk u pranua',
    badRequestLead: 'Kontrollo mesazhin (deri në {max} shkronja) dhe provo sërish nga faqja e bllokimit.',
    tooLargeTitle: 'Mesazhi është shumë i gjatë',
    tooManyTitle: 'Shumë raporte për momentin',
    tooManyLead: 'Provo sërish pas pak minutash.',
    noReportTitle: 'Raportet nuk pranohen për këtë faqe',
    errorTitle: 'Diçka nuk shkoi mirë',
    errorLead: 'Provo sërish pas pak.',
    abuseTitle: 'Qasja u refuzua',
    abuseIwf:
      'Qasja u refuzua nga ofruesi juaj i shërbimit të internetit, sepse kjo faqe mund të përmbajë imazhe të pahijshme të fëmijëve, siç janë identifikuar nga Internet Watch Foundation.',
    abuseAppeal: 'Nëse mendoni se kjo faqe është bllokuar gabimisht, ju lutemi kontaktoni {appeals}.',
    worriedTitle: 'Ju shqetësojnë mendimet apo sjellja juaj?',
    worried: 'Ka ndihmë falas, anonime dhe konfidenciale: {worried}.',
    abuseHelpline: 'Nëse një fëmijë ka nevojë për ndihmë, telefononi falas {helpline} në numrin {number}.',
    footer: 'Filtri i përmbajtjes mbron fëmijët në rrjetet publike WiFi.',
  },
  en: {
    langName: 'English',
    skip: 'Skip to content',
    blockedTitle: 'This site is blocked',
    blockedLead: 'This site does not open on this network, because it may not be safe or suitable here.',
    notYourFault: 'You have not done anything wrong. You can keep using the internet as usual.',
    details: 'Why it was blocked',
    site: 'Site',
    category: 'Category',
    categories: 'Categories',
    network: 'Network',
    operator: 'Provided by',
    reportTitle: 'Think this is a mistake?',
    reportLead: 'Tell us and someone will look at it. You do not need to write anything else.',
    messageLabel: 'Message (optional)',
    messageHint: 'Please do not write your name, phone number or other personal details.',
    send: 'Send report',
    helpTitle: 'Need help?',
    helpline:
      'If something online worries or scares you, talk to an adult you trust, or call {helpline} for free on {number}.',
    portal: 'To report illegal content online: {portal}.',
    thanksTitle: 'Thank you!',
    thanksLead: 'Your report has been sent. Someone will look at it soon.',
    thanksReference: 'Your reference: {reference}. Keep it to see what became of your report.',
    outcomeLink: 'See the status of your report',
    outcomeTitle: 'Report status',
    outcomeOpen: 'Pending: your report has not been reviewed yet.',
    outcomeAccepted: 'Accepted: your report was accepted.',
    outcomeRejected: 'Rejected: your report was reviewed and the block stays.',
    outcomeUnknownTitle: 'Report not found',
    outcomeUnknownLead: 'No report has this reference.',
    back: 'Back to the previous page',
    neutralTitle: 'Nothing is blocked here',
    neutralLead:
      'This address only shows block notices. If you expected another site, try opening it again in a few minutes.',
    badRequestTitle: 'The report was not accepted',
    badRequestLead: 'Check the message (up to {max} characters) and try again from the block page.',
    tooLargeTitle: 'The message is too long',
    tooManyTitle: 'Too many reports right now',
    tooManyLead: 'Please try again in a few minutes.',
    noReportTitle: 'Reports are not taken for this page',
    errorTitle: 'Something went wrong',
    errorLead: 'Please try again in a moment.',
    abuseTitle: 'Access denied',
    abuseIwf:
      'Access has been denied by your internet access provider because this page may contain indecent images of children as identified by the Internet Watch Foundation.',
    abuseAppeal: 'If you think this page has been blocked in error, please contact {appeals}.',
    worriedTitle: 'Worried about your own thoughts or behaviour?',
    worried: 'Free, anonymous and confidential help is available: {worried}.',
    abuseHelpline: 'If a child needs help, call {helpline} for free on {number}.',
    footer: 'Content filtering keeps children safer on public WiFi.',
  },
} as const satisfies Record<Lang, Record<string, string>>;

export type TextKey = keyof (typeof TEXT)['en'];
