/** `blockPage`: the block page server, for blockMode blockpage. */
import type { Static, TProperties } from '@sinclair/typebox';
import { type BlockPageHelpInput, resolveHelp } from '../../blockpage/help.js';
import { LANGS } from '../../blockpage/i18n.js';
import { BLOCK_PAGE_LIMITS, type BlockPageLimits } from '../../blockpage/limits.js';
import { invalidKey } from '../config-error.js';
import { Type } from '../json-schema.js';
import { parseDuration } from '../units.js';
import { duration, ListenString, type SectionContext, section } from './common.js';
import { listenFlag, listenValue } from './listen.js';

export const BLOCK_PAGE_EXPECTED = {
  ipv4: 'an IPv4 address such as "192.0.2.1", or null',
  ipv6: 'an IPv6 address such as "2001:db8::1", or null',
} as const;

/** Text shown on the block page: one string for both languages, or one per language. */
const LocalText = Type.Union(
  [
    Type.String({ minLength: 1, maxLength: 200 }),
    Type.Object(
      {
        sq: Type.String({ minLength: 1, maxLength: 200 }),
        en: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
  ],
  { 'x-expected': 'a text, or { sq: ..., en: ... }' },
);

/** A help link: a name (or text) and where it leads. */
function link<T extends TProperties>(properties: T) {
  return Type.Optional(Type.Object(properties, { additionalProperties: false }));
}

export const BlockPageSchema = section(
  {
    ipv4: Type.Union([Type.Null(), Type.String({ format: 'ipv4' })], {
      default: null,
      'x-expected': BLOCK_PAGE_EXPECTED.ipv4,
    }),
    ipv6: Type.Union([Type.Null(), Type.String({ format: 'ipv6' })], {
      default: null,
      'x-expected': BLOCK_PAGE_EXPECTED.ipv6,
    }),
    listen: Type.Array(ListenString, {
      default: [],
      description: 'HTTP listeners of the block page (the addresses above, port 80); empty: no page',
    }),
    refuseTls: Type.Array(ListenString, {
      default: [],
      description: 'listeners that reset every connection at once (port 443), so HTTPS fails fast',
    }),
    operatorName: Type.Union([Type.Null(), LocalText], {
      default: null,
      description: 'who runs the WiFi, shown on the page',
      'x-expected': 'a name, or { sq, en }, or null',
    }),
    defaultLang: Type.Union(
      LANGS.map((l) => Type.Literal(l)),
      {
        default: 'sq',
        description: 'the language when Accept-Language names neither',
        'x-expected': LANGS.join(' or '),
      },
    ),
    maxMessageLength: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    reportsPerMinute: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 30,
      description: 'wrong-block reports taken per minute from all clients together; 0: no report form',
    }),
    reportsPerClientPerMinute: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: BLOCK_PAGE_LIMITS.reportsPerClientPerMinute,
      description: 'wrong-block reports taken per minute from one client (within reportsPerMinute)',
    }),
    maxConnections: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: BLOCK_PAGE_LIMITS.maxConnections,
      description:
        'open connections to the block page, all clients; never more than a quarter of the open-files limit',
    }),
    maxConnectionsPerClient: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: BLOCK_PAGE_LIMITS.maxConnectionsPerClient,
      description: 'open connections from one client (IPv4 address or IPv6 /64); more are closed at once',
    }),
    headersTimeout: duration('5s', "time to receive a request's headers; a half-sent request is closed then"),
    requestTimeout: duration('10s', 'time to receive a whole request, body included'),
    keepAliveTimeout: duration('5s', 'how long an idle keep-alive connection stays open'),
    help: Type.Object(
      {
        reportPortal: link({ name: Type.Optional(LocalText), url: Type.Optional(Type.String()) }),
        helpline: link({
          name: Type.Optional(LocalText),
          number: Type.Optional(Type.String()),
          url: Type.Optional(Type.Union([Type.Null(), Type.String()])),
        }),
        abuseAppeals: link({
          text: Type.Optional(LocalText),
          url: Type.Optional(Type.Union([Type.Null(), Type.String()])),
        }),
        worriedHelp: link({ name: Type.Optional(LocalText), url: Type.Optional(Type.String()) }),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'help links on the page (national reporting portal, child helpline...); defaults suit Albania',
      },
    ),
  },
  'the block page server, for blockMode blockpage',
);

export type BlockPageConfig = ReturnType<typeof normalizeBlockPage>;

/** Listeners parsed (--blockpage flags replace `listen`), help links checked. */
export function normalizeBlockPage(
  ctx: SectionContext,
  raw: Static<typeof BlockPageSchema>,
  flagListen: readonly string[] | undefined,
) {
  const { file } = ctx;
  const help: BlockPageHelpInput = raw.help;
  try {
    resolveHelp(help);
  } catch (err) {
    // The check names the key (help.helpline.number...); say which file it is in.
    throw invalidKey(file, 'blockPage.help', (err as Error).message.replace(/^blockPage\.help\.\S+ /, ''));
  }
  return {
    ipv4: raw.ipv4,
    ipv6: raw.ipv6,
    listen:
      flagListen !== undefined && flagListen.length > 0
        ? flagListen.map((text) => listenFlag('--blockpage', text))
        : raw.listen.map((text, i) => listenValue(file, `blockPage.listen[${i}]`, text)),
    refuseTls: raw.refuseTls.map((text, i) => listenValue(file, `blockPage.refuseTls[${i}]`, text)),
    operatorName: raw.operatorName,
    defaultLang: raw.defaultLang,
    maxMessageLength: raw.maxMessageLength,
    reportsPerMinute: raw.reportsPerMinute,
    limits: limitsOf(ctx, raw),
    help,
  };
}

/** The connection and report limits, durations in ms; a zero duration or headers > request is refused. */
function limitsOf(ctx: SectionContext, raw: Static<typeof BlockPageSchema>): BlockPageLimits {
  const ms = (key: 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout'): number => {
    const value = parseDuration(raw[key]) as number; // the schema checked the format
    if (value <= 0) throw invalidKey(ctx.file, `blockPage.${key}`, 'must be more than 0');
    return value;
  };
  const limits: BlockPageLimits = {
    maxConnections: raw.maxConnections,
    maxConnectionsPerClient: raw.maxConnectionsPerClient,
    headersTimeoutMs: ms('headersTimeout'),
    requestTimeoutMs: ms('requestTimeout'),
    keepAliveTimeoutMs: ms('keepAliveTimeout'),
    reportsPerClientPerMinute: raw.reportsPerClientPerMinute,
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw invalidKey(
      ctx.file,
      'blockPage.headersTimeout',
      'must not be longer than blockPage.requestTimeout',
    );
  }
  return limits;
}
