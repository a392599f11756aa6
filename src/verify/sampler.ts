/**
 * Sampled verification: asks a resolver for each name of a certifier's sample (and its www. form, over
 * each transport), judges each answer with the same rules as the suite (judge.ts: what counts as
 * blocked for any resolver), and sums per name. A name is the unit drawn at random, so it is the unit
 * counted: blocked only when every question about it was blocked. Bounded concurrency and a paced
 * start rate keep an audit from looking like a flood to a resolver with rate limiting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type DnsServerAddress, type Exchange, exchange, type VerifyTransport } from './client.js';
import { classify, judge } from './judge.js';
import type { SampledName, SampleResult, SampleRun } from './report.js';
import { nameHash } from './sample-key.js';
import { round, wilsonInterval } from './wilson.js';

export const DEFAULT_SAMPLE_SIZE = 1000;
export const DEFAULT_CONCURRENCY = 32;
/** Questions started per second: 1,000 names (4,000 questions) in about 10 s, under roje's 1,000/s per client. */
export const DEFAULT_QPS = 400;
export const DEFAULT_MIN_RATE = 0.9;
export const DEFAULT_MAX_OVERBLOCK = 0.01;
export const SAMPLE_TIMEOUT_MS = 2000;

/** The forms asked of every name: the name itself and its www. form. */
export const FORMS = ['name', 'www'] as const;

export interface AskSampleOptions {
  server: DnsServerAddress;
  transports: readonly VerifyTransport[];
  timeoutMs: number;
  sourceAddress?: string;
  blockAddresses: ReadonlySet<string>;
  concurrency?: number;
  /** Questions started per second; 0: as fast as `concurrency` allows. */
  qps?: number;
  /** Called after each answer: questions done, questions in all. */
  onProgress?: (done: number, total: number) => void;
  /** The seam for tests: one question. Default: client.ts's exchange over a socket. */
  ask?: typeof exchange;
}

/** The question labels, in the order of the letters of SampledName.answers. */
export function questionLabels(transports: readonly VerifyTransport[]): string[] {
  return FORMS.flatMap((form) => transports.map((t) => `${form}/${t}`));
}

/** One answer as a letter (see SampledName). */
export function answerLetter(e: Exchange, qname: string, blockAddresses: ReadonlySet<string>): string {
  if (e.rcode === null) return 'T';
  const blocked = judge(
    { name: 'sample', qname, qtype: 'A', expect: 'blocked', transports: [] },
    e,
    blockAddresses,
  ).pass;
  if (blocked) return 'B';
  if (e.rcode === 'NXDOMAIN') return 'N';
  if (e.rcode !== 'NOERROR') return 'S';
  return classify('A', e, blockAddresses).ofType > 0 ? 'R' : 'N';
}

/** A name's verdict from its letters: one resolving answer is a leak, whatever else happened. */
export function nameVerdict(answers: string): SampledName['verdict'] {
  const asked = answers.replace(/-/g, '');
  if (/[RN]/.test(asked)) return 'not-blocked';
  return asked.length > 0 && /^B+$/.test(asked) ? 'blocked' : 'error';
}

function formOf(name: string, form: (typeof FORMS)[number]): string | null {
  if (form === 'name') return name;
  // A listed www. name has no www. form of its own (www.www. would be a name nobody lists).
  return name.startsWith('www.') ? null : `www.${name}`;
}

/** Asks every question about every name; returns one SampledName per name, in the names' order. */
export async function askSample(
  names: readonly string[],
  key: Buffer,
  options: AskSampleOptions,
): Promise<SampledName[]> {
  const ask = options.ask ?? exchange;
  const labels = questionLabels(options.transports);
  const letters = names.map(() => Array<string>(labels.length).fill('-'));
  const jobs: Array<{ name: number; slot: number; qname: string; transport: VerifyTransport }> = [];
  names.forEach((name, i) => {
    FORMS.forEach((form, f) => {
      const qname = formOf(name, form);
      if (qname === null) return;
      options.transports.forEach((transport, t) => {
        jobs.push({ name: i, slot: f * options.transports.length + t, qname, transport });
      });
    });
  });
  const qps = options.qps ?? DEFAULT_QPS;
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const seq = next++;
      const job = jobs[seq];
      if (qps > 0) {
        const wait = started + (seq * 1000) / qps - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const e = await ask(options.server, {
        qname: job.qname,
        qtype: 'A',
        transport: job.transport,
        timeoutMs: options.timeoutMs,
        ...(options.sourceAddress !== undefined ? { sourceAddress: options.sourceAddress } : {}),
      });
      letters[job.name][job.slot] = answerLetter(e, job.qname, options.blockAddresses);
      options.onProgress?.(++done, jobs.length);
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, jobs.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  return names.map((name, i) => {
    const answers = letters[i].join('');
    return { hash: nameHash(key, name), verdict: nameVerdict(answers), answers };
  });
}

export interface SummariseOptions {
  kind: 'block' | 'allow';
  category: string;
  list: SampleResult['list'];
  names: SampledName[];
  /** block: the least block rate whose interval's low end must reach; allow: the most over-blocking. */
  threshold: number;
}

/**
 * Counts and judges a sample. A block sample passes when the Wilson interval's LOW end reaches the
 * minimum (the certifier is 95 % sure the filter blocks at least that share); an allow sample when its
 * HIGH end stays under the maximum. The burden of proof is the operator's: a small sample passes
 * neither, however good the filter.
 */
export function summariseSample(options: SummariseOptions): SampleResult {
  const { names } = options;
  const blocked = names.filter((n) => n.verdict === 'blocked').length;
  const notBlocked = names.filter((n) => n.verdict === 'not-blocked').length;
  const errors = names.length - blocked - notBlocked;
  const interval = wilsonInterval(blocked, names.length);
  const rule: SampleResult['rule'] =
    options.kind === 'block'
      ? { bound: 'low', min: options.threshold }
      : { bound: 'high', max: options.threshold };
  const pass =
    names.length > 0 && (rule.bound === 'low' ? interval.low >= rule.min : interval.high <= rule.max);
  return {
    kind: options.kind,
    category: options.category,
    list: options.list,
    asked: names.length,
    blocked,
    notBlocked,
    errors,
    rate: names.length > 0 ? round(blocked / names.length) : 0,
    interval,
    rule,
    verdict: pass ? 'pass' : 'fail',
    names,
  };
}

/** Why a report's sample does not add up (counts, rate, interval, verdict vs its names), or null. */
export function sampleInconsistency(report: { sample?: SampleRun }): string | null {
  for (const r of report.sample?.results ?? []) {
    const again = summariseSample({
      kind: r.kind,
      category: r.category,
      list: r.list,
      names: r.names,
      threshold: r.rule.bound === 'low' ? r.rule.min : r.rule.max,
    });
    const fields = ['asked', 'blocked', 'notBlocked', 'errors', 'rate', 'interval', 'verdict'] as const;
    const wrong = fields.find((f) => JSON.stringify(again[f]) !== JSON.stringify(r[f]));
    if (wrong !== undefined) {
      return `the ${r.category} sample's ${wrong} does not follow from its ${r.names.length} names`;
    }
    if (r.names.some((n) => nameVerdict(n.answers) !== n.verdict)) {
      return `the ${r.category} sample has a name whose verdict does not follow from its answers`;
    }
  }
  return null;
}
