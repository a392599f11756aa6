/**
 * One sampled verification over the certifier's lists: draw from each (seeded), ask, count and judge.
 * The lists are read by the caller (so that a bad file is a command-line error before any question).
 */

import type { SampleRun } from './report.js';
import type { SampleList } from './sample-list.js';
import { drawSample } from './sample-list.js';
import type { AskSampleOptions } from './sampler.js';
import { askSample, questionLabels, summariseSample } from './sampler.js';

export interface SampleSpec {
  kind: 'block' | 'allow';
  /** The category the list stands for ('adult', 'abuse', ...); 'allow' for an allow sample. */
  category: string;
  list: SampleList;
  /** block: minimum block rate; allow: maximum over-blocking rate. */
  threshold: number;
}

export interface RunSampleOptions extends Omit<AskSampleOptions, 'onProgress'> {
  specs: readonly SampleSpec[];
  seed: number;
  sampleSize: number;
  key: { key: Buffer; id: string };
  onProgress?: (done: number, total: number) => void;
}

export async function runSample(options: RunSampleOptions): Promise<SampleRun> {
  const { specs, seed, sampleSize, key, onProgress, ...ask } = options;
  // Every list is drawn with the same seed: a list's sample does not depend on the others given.
  const drawn = specs.map((spec) => drawSample(spec.list.names, sampleSize, seed));
  const questions = (names: readonly string[]) =>
    names.reduce((sum, name) => sum + ask.transports.length * (name.startsWith('www.') ? 1 : 2), 0);
  const total = drawn.reduce((sum, names) => sum + questions(names), 0);
  let before = 0;
  const results = [];
  for (const [i, spec] of specs.entries()) {
    const names = await askSample(drawn[i], key.key, {
      ...ask,
      ...(onProgress !== undefined
        ? { onProgress: (done: number) => onProgress(Math.min(total, before + done), total) }
        : {}),
    });
    before += questions(drawn[i]);
    results.push(
      summariseSample({
        kind: spec.kind,
        category: spec.category,
        list: { sha256: spec.list.sha256, names: spec.list.names.length, skipped: spec.list.skipped },
        names,
        threshold: spec.threshold,
      }),
    );
  }
  return {
    seed,
    sampleSize,
    hash: 'HMAC-SHA-256',
    keyId: key.id,
    questions: questionLabels(ask.transports),
    results,
  };
}
