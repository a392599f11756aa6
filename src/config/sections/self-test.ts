/**
 * `selfTest` and `chaos`: what roje shows certifiers about itself, a signed verify report on a
 * schedule and its policy status over DNS.
 */
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { durationWithin } from '../config-error.js';
import { Type } from '../json-schema.js';
import { DAY, duration, MINUTE, pathOrNull, type SectionContext, section, statePath } from './common.js';

export const SelfTestSchema = section(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'run a verify suite against roje itself, per venue, on a schedule and after list swaps',
    }),
    suite: Type.String({
      minLength: 1,
      default: 'friendly-wifi',
      description: 'the built-in suite name or a suite file',
      'x-expected': 'friendly-wifi or a file path',
    }),
    interval: duration('24h', 'how often the self-test runs'),
    afterSwap: Type.Boolean({ default: true, description: 'also run shortly after every list swap' }),
    keep: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 30,
      description: 'reports kept for auditors',
    }),
    signingKeyFile: pathOrNull(
      'Ed25519 private key (PEM) that signs the reports; null: <stateDir>/signing.key (created), unsigned without a stateDir',
    ),
  },
  'the scheduled self-test (roje verify against itself, as a client of each venue and of none)',
);

export type SelfTestConfig = ReturnType<typeof normalizeSelfTest>;

export function normalizeSelfTest(
  ctx: SectionContext,
  raw: Static<typeof SelfTestSchema>,
  stateDir: string | null,
) {
  return {
    enabled: raw.enabled,
    /** 'friendly-wifi' or an absolute suite file path. */
    suite: raw.suite === 'friendly-wifi' ? raw.suite : resolve(ctx.baseDir, raw.suite),
    intervalMs: durationWithin(ctx.file, 'selfTest.interval', raw.interval, MINUTE, 31 * DAY),
    afterSwap: raw.afterSwap,
    keep: raw.keep,
    /** Absolute path, or null: unsigned reports. */
    signingKeyFile: statePath(ctx, raw.signingKeyFile, stateDir, 'signing.key', null),
  };
}

export const ChaosSchema = section(
  {
    enabled: Type.Boolean({
      default: true,
      description:
        'answer version.roje. and policy.roje. CH TXT (version, list versions and ages; never entries)',
    }),
  },
  'policy status over DNS, for certifiers on the network',
);

export type ChaosConfig = Static<typeof ChaosSchema>;

export function normalizeChaos(raw: ChaosConfig): ChaosConfig {
  return { enabled: raw.enabled };
}
