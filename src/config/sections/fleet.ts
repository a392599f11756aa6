/**
 * `fleet`: a central roje publishes its compiled lists signed; edge instances pull and verify them.
 * The normalizer lives with the fleet code (src/fleet/config.ts, normalizeFleet), which is why the
 * normalized shape is written out here: normalizeFleet declares that it returns a FleetConfig, so
 * inferring FleetConfig from it would be circular.
 */

import { normalizeFleet } from '../../fleet/config.js';
import { Type } from '../json-schema.js';
import type { RawConfig } from '../schema.js';
import {
  clientTlsFiles,
  optionalByteSize,
  optionalDuration,
  pathOrNull,
  type SectionContext,
  section,
  VALUE_EXPECTED,
} from './common.js';

export const FLEET_EXPECTED = {
  fleetPull:
    'a mapping with keys url, publicKeyFile (and signatureUrl, bearerTokenFile, interval, timeout, maxBytes, clientCertFile, clientKeyFile, caFile)',
} as const;

/** fleet.pull: optional keys have their defaults in src/fleet/config.ts (FLEET_PULL_DEFAULTS). */
const FleetPull = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'the artifact: http(s)://central:8053/api/v1/lists/artifact, or any static file',
      'x-expected': VALUE_EXPECTED.feedUrl,
    }),
    signatureUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'its detached signature (default: url + ".sig")',
        'x-expected': VALUE_EXPECTED.feedUrl,
      }),
    ),
    publicKeyFile: Type.Union(
      [
        Type.String({ minLength: 1 }),
        Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 16 }),
      ],
      {
        description:
          'the Ed25519 public key(s) (PEM) an artifact must be signed with; several during a key change',
        'x-expected': 'a file path, or a list of file paths',
      },
    ),
    bearerTokenFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'a file holding an API token (auditor role) sent as Authorization: Bearer',
        'x-expected': 'a file path',
      }),
    ),
    interval: optionalDuration('how often the artifact is checked (ETag; from 10s to 1d; default 5m)'),
    timeout: optionalDuration('longest wait for the headers and between body data (default 30s)'),
    maxBytes: optionalByteSize('largest artifact accepted (default 256MiB)'),
    ...clientTlsFiles('the server'),
  },
  { additionalProperties: false, 'x-expected': FLEET_EXPECTED.fleetPull },
);

export const FleetSchema = section(
  {
    publish: section(
      {
        signingKeyFile: pathOrNull(
          'Ed25519 private key (PEM, from roje keygen) that signs the lists this roje serves to edges at GET /api/v1/lists/artifact; null: not published',
        ),
      },
      'publishing the compiled lists to edge instances',
    ),
    pull: Type.Union([Type.Null(), FleetPull], {
      default: null,
      description:
        'pull the lists from a central roje (or any HTTP server) as a signed artifact, instead of `lists` and `compiled`; null: off',
      'x-expected': `${FLEET_EXPECTED.fleetPull}, or null`,
    }),
  },
  'fleet: a central roje publishes its compiled lists signed; edge instances pull and verify them',
);

export interface FleetConfig {
  /** Absolute path of the Ed25519 private key that signs the published lists, or null: not published. */
  publish: { signingKeyFile: string | null };
  /** Where an edge pulls its lists from, or null: the lists come from `lists` / `compiled`. */
  pull: FleetPullConfig | null;
}

export interface FleetPullConfig {
  /** http(s) URLs as configured (may hold query secrets: log them through redactUrl). */
  url: string;
  signatureUrl: string;
  /** Absolute paths of the trusted public keys (at least one). */
  publicKeyFiles: string[];
  bearerTokenFile: string | null;
  intervalMs: number;
  timeoutMs: number;
  maxBytes: number;
  /** Client certificate and CA files (absolute), or null. */
  tls: { certFile: string | null; keyFile: string | null; caFile: string | null } | null;
}

/** `compiled` (after flags) and the flags decide whether an edge's lists come from one place only. */
export function normalizeFleetSection(
  ctx: SectionContext,
  raw: RawConfig,
  compiled: string | null,
  flags: { lists?: readonly string[]; compiled?: string },
): FleetConfig {
  return normalizeFleet(ctx.file, raw, ctx.baseDir, {
    compiled,
    compiledFromFlag: flags.compiled !== undefined,
    listFlags: (flags.lists ?? []).length > 0,
  });
}
