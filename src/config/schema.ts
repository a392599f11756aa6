/**
 * The config file's schema: plain JSON Schema (built with TypeBox, validated by ajv in validate.ts),
 * composed from one file per section under sections/, each holding its schema (every default is
 * written there and nowhere else), its normalizer, and the normalized type derived from that
 * normalizer. `additionalProperties: false` everywhere, because a misspelt key silently falling back
 * to its default is the worst kind of config bug. The kinds of value (durations, sizes, addresses)
 * and their formats are described in sections/common.ts.
 */
import type { Static } from '@sinclair/typebox';
import type { Profile } from '../policy/compliance.js';
import { Type } from './json-schema.js';
import { type AbuseConfig, AbuseSchema } from './sections/abuse.js';
import { type AclConfig, AclSchema } from './sections/acl.js';
import { type AdminConfig, AdminSchema, type MetricsConfig, MetricsSchema } from './sections/admin.js';
import { BLOCK_PAGE_EXPECTED, type BlockPageConfig, BlockPageSchema } from './sections/block-page.js';
import { type BypassConfig, BypassSchema } from './sections/bypass.js';
import { type CacheConfig, CacheSchema } from './sections/cache.js';
import { type CategoryNamesConfig, CategoryNamesSchema } from './sections/category-names.js';
import { VALUE_EXPECTED } from './sections/common.js';
import { FLEET_EXPECTED, type FleetConfig, FleetSchema } from './sections/fleet.js';
import { type ListenConfig, ListenSchema } from './sections/listen.js';
import { CompiledSchema, LIST_EXPECTED, ListsSchema, type ListsSection } from './sections/lists.js';
import {
  type LogConfig,
  LogSchema,
  type ShutdownConfig,
  ShutdownSchema,
  StateDirSchema,
} from './sections/operations.js';
import { BlockTtlSchema, POLICY_EXPECTED, PoliciesSchema, type PolicyConfig } from './sections/policies.js';
import { ProfileSchema } from './sections/profile.js';
import { type RateLimitConfig, RateLimitSchema } from './sections/rate-limit.js';
import { type ChaosConfig, ChaosSchema, type SelfTestConfig, SelfTestSchema } from './sections/self-test.js';
import { type StatsConfig, StatsSchema } from './sections/stats.js';
import { type StoreConfig, StoreSchema } from './sections/store.js';
import { TimeZoneSchema } from './sections/time-zone.js';
import {
  type EdnsConfig,
  EdnsSchema,
  type TcpConfig,
  TcpSchema,
  type UdpConfig,
  UdpSchema,
} from './sections/transport.js';
import {
  ResolvConfSchema,
  UPSTREAM_EXPECTED,
  UpstreamSchema,
  UpstreamsSchema,
  type UpstreamsSection,
} from './sections/upstreams.js';
import { type VenueConfig, VenuesSchema } from './sections/venues.js';
import { WorkerModeSchema, type WorkersConfig, WorkersSchema } from './sections/workers.js';

// The modes are those the policy code implements; it owns them.
export { BLOCK_MODES, type BlockMode } from '../policy/block-answer.js';
export { PROFILES, type Profile } from '../policy/compliance.js';
export { YOUTUBE_MODES, type YouTubeMode } from '../policy/safesearch.js';
export type { AbuseConfig } from './sections/abuse.js';
export { DEFAULT_ACL_ALLOW } from './sections/acl.js';
export { TokenEntry } from './sections/admin.js';
export { CATEGORY_PATTERN } from './sections/common.js';
export type { FleetConfig, FleetPullConfig } from './sections/fleet.js';
export { LIST_FORMATS } from './sections/lists.js';
export type { LogLevel } from './sections/operations.js';
export type { PolicyConfig } from './sections/policies.js';
export type { UpstreamConfig } from './sections/upstreams.js';
export type { VenueConfig } from './sections/venues.js';

/** The wording error messages use for each kind of value, gathered from the sections. */
export const EXPECTED = {
  ...VALUE_EXPECTED,
  ...UPSTREAM_EXPECTED,
  ...LIST_EXPECTED,
  ...POLICY_EXPECTED,
  ...BLOCK_PAGE_EXPECTED,
  ...FLEET_EXPECTED,
} as const;

/** The top-level keys, in the order the reference config (deploy/roje.yaml) and messages list them. */
export const ConfigSchema = Type.Object(
  {
    listen: ListenSchema,
    workers: WorkersSchema,
    workerMode: WorkerModeSchema,
    upstreams: UpstreamsSchema,
    resolvConf: ResolvConfSchema,
    upstream: UpstreamSchema,
    acl: AclSchema,
    rateLimit: RateLimitSchema,
    cache: CacheSchema,
    edns: EdnsSchema,
    udp: UdpSchema,
    tcp: TcpSchema,
    log: LogSchema,
    shutdown: ShutdownSchema,
    lists: ListsSchema,
    compiled: CompiledSchema,
    fleet: FleetSchema,
    blockTtl: BlockTtlSchema,
    blockPage: BlockPageSchema,
    policies: PoliciesSchema,
    venues: VenuesSchema,
    bypass: BypassSchema,
    profile: ProfileSchema,
    selfTest: SelfTestSchema,
    chaos: ChaosSchema,
    abuse: AbuseSchema,
    stateDir: StateDirSchema,
    admin: AdminSchema,
    stats: StatsSchema,
    store: StoreSchema,
    timeZone: TimeZoneSchema,
    categoryNames: CategoryNamesSchema,
    metrics: MetricsSchema,
  },
  { additionalProperties: false, 'x-expected': 'a mapping of config keys' },
);

/** The config as written in the file, after defaults were applied (durations and sizes still text). */
export type RawConfig = Static<typeof ConfigSchema>;

/**
 * The normalized config the app consumes: one key per section, each of the type its normalizer
 * returns (sections/*.ts). Units are in the names or documented there: `...Ms` fields are
 * milliseconds; DNS TTL fields (minTtl, maxTtl, negativeMaxTtl, maxStale, answerTtl, blockTtl) are
 * whole seconds; sizes are bytes; paths are absolute.
 */
export interface RojeConfig {
  /** The file it was loaded from (absolute path), or null for the embedded default. */
  source: string | null;
  listen: ListenConfig;
  upstreams: UpstreamsSection['upstreams'];
  upstreamsFrom: UpstreamsSection['upstreamsFrom'];
  resolvConf: UpstreamsSection['resolvConf'];
  upstream: UpstreamsSection['upstream'];
  workers: WorkersConfig;
  acl: AclConfig;
  rateLimit: RateLimitConfig;
  cache: CacheConfig;
  edns: EdnsConfig;
  udp: UdpConfig;
  tcp: TcpConfig;
  log: LogConfig;
  shutdown: ShutdownConfig;
  lists: ListsSection['lists'];
  listsFrom: ListsSection['listsFrom'];
  compiled: ListsSection['compiled'];
  fleet: FleetConfig;
  /** TTL of blocked answers, seconds. */
  blockTtl: number;
  blockPage: BlockPageConfig;
  /** Always holds "default". */
  policies: Record<string, PolicyConfig>;
  venues: VenueConfig[];
  bypass: BypassConfig;
  /** The compliance profile whose gaps are warned about (src/policy/compliance.ts). */
  profile: Profile;
  abuse: AbuseConfig;
  chaos: ChaosConfig;
  selfTest: SelfTestConfig;
  /** Absolute path of the state directory, or null (state kept in memory only). */
  stateDir: string | null;
  admin: AdminConfig;
  metrics: MetricsConfig;
  stats: StatsConfig;
  store: StoreConfig;
  /** IANA time zone of the transparency report ("UTC", "Europe/Tirane"). */
  timeZone: string;
  /** Display names of categories (sq, en), added to or replacing the built-in ones. */
  categoryNames: CategoryNamesConfig;
}
