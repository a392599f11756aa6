/**
 * A roje's part in a fleet, from its config: as a central, it publishes the lists in force with a
 * detached signature (fleet.publish); as an edge, it pulls them (fleet.pull, src/fleet/pull.ts). One
 * instance lives in the app for its whole life; configure() applies a config at start and on reload.
 * Statistics across a fleet are Prometheus' business (each instance's /metrics), not this module's.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { FleetConfig, RojeConfig } from '../config/schema.js';
import { RojeError } from '../errors.js';
import type { DownloadOptions } from '../feeds/download.js';
import type { AbuseKey } from '../policy/abuse/format.js';
import type { CompiledLists } from '../policy/types.js';
import { keyFingerprint, readSigningKey } from '../verify/sign.js';
import {
  createFleetPuller,
  type FleetPuller,
  type FleetPullStatus,
  type PullOutcome,
  type PullResult,
} from './pull.js';
import { type ArtifactSignature, formatSignature, signArtifact } from './signature.js';

/** What the central hands an edge: the artifact, its signature, and the ETag of both. */
export interface Publication {
  etag: string;
  artifact: Buffer;
  signature: string;
}

/** The lists in force as the app holds them (LoadedListSet): `lists.artifact` is what is published. */
export interface PublishableLists {
  lists: CompiledLists;
  missing: readonly string[];
}

export interface FleetStatus {
  publish: { keyId: string; version: string | null } | null;
  pull: FleetPullStatus | null;
}

export interface FleetMetrics {
  pulls: Record<PullResult, number> | null;
  artifactAgeSeconds: number | null;
}

export interface Fleet {
  /** Applies the fleet section of `config`: reads the signing key, (re)creates the puller. */
  configure(config: Pick<RojeConfig, 'fleet' | 'stateDir'>): Promise<void>;
  /**
   * Builds what `config` needs (key read, puller opened) without changing the fleet in force; the
   * change's current() is the artifact a compile of the new config would load.
   */
  prepare(config: Pick<RojeConfig, 'fleet' | 'stateDir'>): Promise<FleetChange>;
  /** Starts pulling (an edge); a later configure() keeps pulling. */
  start(): void;
  stop(): Promise<void>;
  /** The verified pulled artifact for the lists loader, or null (not an edge, or none yet). */
  current(): { bytes: Buffer; source: string } | null;
  /** Pulls now (an edge), or null when this roje does not pull. */
  pullNow(): Promise<PullOutcome | null>;
  /**
   * The signed lists for GET /api/v1/lists/artifact. ROJE_ERR_FLEET_NOT_PUBLISHED (404) when publishing
   * is off, ROJE_ERR_FLEET_NOT_READY (503) while the lists are incomplete (a feed without a copy yet).
   */
  publication(set: PublishableLists | null): Promise<Publication>;
  status(): FleetStatus;
  metrics(): FleetMetrics;
}

export interface FleetChange {
  current(): { bytes: Buffer; source: string } | null;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface FleetDeps {
  logger: Logger;
  abuseKey: () => AbuseKey | null;
  /** A new pulled artifact is stored: reload the lists. */
  onUpdate: () => Promise<unknown>;
  downloadOptions?: DownloadOptions;
}

export function createFleet(deps: FleetDeps): Fleet {
  const log = deps.logger;
  let signingKey: KeyObject | null = null;
  let keyId: string | null = null;
  let applied: FleetConfig = { publish: { signingKeyFile: null }, pull: null };
  let appliedStateDir: string | null = null;
  let puller: FleetPuller | null = null;
  let started = false;
  // One signature per lists version, made once (on the thread pool) and reused for every edge.
  let signed: { version: string; artifact: Buffer; signature: Promise<ArtifactSignature> } | null = null;

  return {
    async configure(config) {
      await (await this.prepare(config)).commit();
    },
    async prepare(config) {
      const f = config.fleet;
      // The signing key and puller that `config` needs, built aside: nothing in force changes until commit.
      let nextKey = signingKey;
      const keyChanged = f.publish.signingKeyFile !== applied.publish.signingKeyFile || signingKey === null;
      if (keyChanged && f.publish.signingKeyFile !== null) {
        // Not created on the fly: its public half must reach the edges first (roje keygen).
        nextKey = await readSigningKey(f.publish.signingKeyFile);
      } else if (keyChanged) nextKey = null;
      const samePull =
        JSON.stringify(f.pull) === JSON.stringify(applied.pull) && config.stateDir === appliedStateDir;
      let nextPuller = puller;
      if (!samePull) {
        nextPuller = null;
        if (f.pull !== null) {
          nextPuller = createFleetPuller(f.pull, {
            stateDir: config.stateDir as string, // normalizeFleet requires one with fleet.pull
            logger: log,
            abuseKey: deps.abuseKey,
            onUpdate: async () => {
              await deps.onUpdate();
            },
            ...(deps.downloadOptions !== undefined ? { downloadOptions: deps.downloadOptions } : {}),
          });
          await nextPuller.open();
        }
      }
      return {
        current: () => artifactOf(nextPuller),
        async commit() {
          if (keyChanged) {
            signingKey = nextKey;
            keyId = nextKey === null ? null : keyFingerprint(nextKey);
            signed = null;
            if (keyId !== null)
              log.info({ keyId }, 'publishing the lists to the fleet (GET /api/v1/lists/artifact)');
          }
          if (!samePull) {
            const previous = puller;
            puller = nextPuller;
            await previous?.stop();
            if (started) puller?.start();
          }
          applied = f;
          appliedStateDir = config.stateDir;
        },
        async abort() {
          if (!samePull) await nextPuller?.stop();
        },
      };
    },
    start() {
      started = true;
      puller?.start();
    },
    async stop() {
      started = false;
      await puller?.stop();
    },
    current: () => artifactOf(puller),
    pullNow: async () => (puller === null ? null : puller.pull()),
    async publication(set) {
      const key = signingKey;
      if (key === null) {
        throw new RojeError(
          'ROJE_ERR_FLEET_NOT_PUBLISHED',
          'this roje does not publish its lists: set fleet.publish.signingKeyFile',
        );
      }
      if (set === null || set.missing.length > 0) {
        throw new RojeError(
          'ROJE_ERR_FLEET_NOT_READY',
          set === null
            ? 'no lists loaded yet'
            : `the lists are incomplete (no copy yet of ${set.missing.join(', ')}): not published until they are`,
        );
      }
      const bytes = set.lists.artifact;
      if (bytes === undefined)
        throw new RojeError(
          'ROJE_ERR_FLEET_NOT_READY',
          'the lists in force have no artifact bytes to publish',
        );
      const version = set.lists.version;
      if (signed === null || signed.version !== version) {
        // A view, not a copy: the lists are views over the same bytes.
        const artifact = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const signature = signArtifact(artifact, key, set.lists.compiledAt);
        signed = { version, artifact, signature };
        signature.catch(() => {
          if (signed?.signature === signature) signed = null;
        });
      }
      return {
        etag: `"${version}"`,
        artifact: signed.artifact,
        signature: formatSignature(await signed.signature),
      };
    },
    status: () => ({
      publish: keyId === null ? null : { keyId, version: signed?.version ?? null },
      pull: puller?.status() ?? null,
    }),
    metrics: () => ({ pulls: puller?.counts() ?? null, artifactAgeSeconds: puller?.ageSeconds() ?? null }),
  };
}

function artifactOf(puller: FleetPuller | null): { bytes: Buffer; source: string } | null {
  const a = puller?.current() ?? null;
  return a === null ? null : { bytes: a.bytes, source: `fleet artifact ${a.version.slice(0, 16)}` };
}
