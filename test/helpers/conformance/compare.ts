/**
 * Compares roje's answer with unbound's for one query. Both are normalised first: the message ID, TTLs
 * lowered by caching (equal within a tolerance), the order of records in a section, owner-name case
 * (RFC 4343), EDNS padding. What still differs becomes a list of signatures ('rcode', 'flags.aa',
 * 'answer', 'opt.missing' ...), each with both sides in words.
 */
import {
  decodeMessage,
  FLAG_BITS,
  type FlagName,
  OPCODES,
  rcodeName,
  typeName,
  type WireMessage,
  type WireRecord,
} from './wire.js';

export interface Difference {
  signature: string;
  unbound: string;
  roje: string;
}

export interface CompareOptions {
  /** Seconds two TTLs of the same record may differ by: the caches filled at different moments. */
  ttlToleranceS: number;
}

const EDNS_PADDING = 12;
const EDNS_EDE = 15;

type Decoded = { ok: true; msg: WireMessage } | { ok: false; why: string };

export function decode(reply: Buffer | null): Decoded {
  if (reply === null) return { ok: false, why: 'no answer' };
  try {
    return { ok: true, msg: decodeMessage(reply) };
  } catch (err) {
    return { ok: false, why: `undecodable: ${(err as Error).message}` };
  }
}

export function compareAnswers(
  unboundReply: Buffer | null,
  rojeReply: Buffer | null,
  options: CompareOptions,
): Difference[] {
  const u = decode(unboundReply);
  const r = decode(rojeReply);
  if (!u.ok || !r.ok) {
    if (!u.ok && !r.ok && u.why === r.why) return [];
    const side = (d: Decoded) => (d.ok ? `${rcodeName(d.msg.rcode)} answer` : d.why);
    const signature = !r.ok
      ? rojeReply === null
        ? 'noanswer.roje'
        : 'undecodable.roje'
      : 'noanswer.unbound';
    const which = !u.ok && u.why !== 'no answer' ? 'undecodable.unbound' : signature;
    return [{ signature: which, unbound: side(u), roje: side(r) }];
  }
  return compareMessages(u.msg, r.msg, options);
}

function compareMessages(u: WireMessage, r: WireMessage, options: CompareOptions): Difference[] {
  const diffs: Difference[] = [];
  const diff = (signature: string, a: unknown, b: unknown) => {
    const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
    if (text(a) !== text(b)) diffs.push({ signature, unbound: text(a), roje: text(b) });
  };
  diff('rcode', rcodeName(u.rcode), rcodeName(r.rcode));
  diff('opcode', OPCODES[u.opcode] ?? u.opcode, OPCODES[r.opcode] ?? r.opcode);
  // The signature says which way: 'flags.aa:set' when roje sets AA and unbound does not.
  for (const flag of Object.keys(FLAG_BITS) as FlagName[])
    diff(`flags.${flag}:${r.flags[flag] ? 'set' : 'clear'}`, u.flags[flag], r.flags[flag]);
  diff('question.count', u.question.length, r.question.length);
  const q = (m: WireMessage, lower: boolean) =>
    m.question
      .map((x) => `${lower ? x.name.toLowerCase() : x.name} ${x.klass} ${typeName(x.type)}`)
      .join(', ');
  diff('question', q(u, true), q(r, true));
  if (q(u, true) === q(r, true)) diff('question.case', q(u, false), q(r, false));
  const bothTruncated = u.flags.tc && r.flags.tc;
  for (const section of ['answer', 'authority', 'additional'] as const) {
    const a = recordSet(u[section]);
    const b = recordSet(r[section]);
    const keysA = [...a.keys()].sort();
    const keysB = [...b.keys()].sort();
    if (keysA.join('\n') !== keysB.join('\n')) {
      const onlyU = keysA.filter((k) => !b.has(k));
      const onlyR = keysB.filter((k) => !a.has(k));
      // Truncated answers (RFC 2181 9): what a server puts in before TC is its own business.
      diffs.push({
        signature: bothTruncated ? 'tc.sections' : section,
        unbound: onlyU.length > 0 ? `also ${onlyU.join('; ')}` : `(${keysA.length} records)`,
        roje: onlyR.length > 0 ? `also ${onlyR.join('; ')}` : `(${keysB.length} records)`,
      });
      continue;
    }
    for (const [key, ttlU] of a) {
      const ttlR = b.get(key) as number;
      if (Math.abs(ttlU - ttlR) > options.ttlToleranceS || (ttlU === 0) !== (ttlR === 0)) {
        diffs.push({ signature: 'ttl', unbound: `${key} TTL ${ttlU}`, roje: `${key} TTL ${ttlR}` });
        break;
      }
    }
  }
  compareOpt(u, r, diffs);
  return diffs;
}

/** Records keyed by lowercased owner, class, type and RDATA, with the (smallest) TTL of each. */
function recordSet(records: WireRecord[]): Map<string, number> {
  const set = new Map<string, number>();
  for (const rec of records) {
    const key = `${rec.name.toLowerCase()} ${rec.klass === 1 ? 'IN' : `CLASS${rec.klass}`} ${typeName(rec.type)} ${rec.rdata}`;
    set.set(key, Math.min(set.get(key) ?? rec.ttl, rec.ttl));
  }
  return set;
}

function compareOpt(u: WireMessage, r: WireMessage, diffs: Difference[]): void {
  const describe = (m: WireMessage) => (m.opts.length === 0 ? 'no OPT' : `${m.opts.length} OPT`);
  if (u.opts.length > 0 && r.opts.length === 0) {
    diffs.push({ signature: 'opt.missing', unbound: describe(u), roje: describe(r) });
    return;
  }
  if (u.opts.length === 0 && r.opts.length > 0) {
    diffs.push({ signature: 'opt.extra', unbound: describe(u), roje: describe(r) });
    return;
  }
  if (u.opts.length === 0) return;
  if (u.opts.length !== r.opts.length)
    diffs.push({ signature: 'opt.count', unbound: describe(u), roje: describe(r) });
  const a = u.opts[0];
  const b = r.opts[0];
  const diff = (signature: string, x: unknown, y: unknown) => {
    if (String(x) !== String(y)) diffs.push({ signature, unbound: String(x), roje: String(y) });
  };
  diff('opt.version', a.version, b.version);
  diff('opt.udp', a.udp, b.udp);
  diff('opt.do', a.do, b.do);
  const ede = (o: typeof a) =>
    o.options
      .filter((x) => x.code === EDNS_EDE)
      .map((x) => (x.data.length >= 2 ? x.data.readUInt16BE(0) : -1))
      .sort((p, q) => p - q)
      .join(',') || 'none';
  diff('opt.ede', ede(a), ede(b));
  const others = (o: typeof a) =>
    o.options
      .filter((x) => x.code !== EDNS_EDE && x.code !== EDNS_PADDING)
      .map((x) => x.code)
      .sort((p, q) => p - q)
      .join(',') || 'none';
  diff('opt.options', others(a), others(b));
}

/** An answer in dig-like text, for a report a person reads. */
export function describeAnswer(reply: Buffer | null): string {
  const d = decode(reply);
  if (!d.ok)
    return `;; ${d.why}${reply !== null ? ` (${reply.length} bytes: ${reply.subarray(0, 48).toString('hex')})` : ''}`;
  const m = d.msg;
  const flags = (Object.keys(FLAG_BITS) as FlagName[]).filter((f) => m.flags[f]).join(' ');
  const lines = [
    `;; opcode: ${OPCODES[m.opcode] ?? m.opcode}, status: ${rcodeName(m.rcode)}, id: ${m.id}, flags: ${flags}; QUERY: ${m.counts[0]}, ANSWER: ${m.counts[1]}, AUTHORITY: ${m.counts[2]}, ADDITIONAL: ${m.counts[3]}`,
  ];
  for (const o of m.opts) {
    const opts = o.options.map((x) => `${x.code}:${x.data.toString('hex')}`).join(' ');
    lines.push(
      `;; OPT: version ${o.version}, flags:${o.do ? ' do' : ''}; udp: ${o.udp}${opts ? `; options ${opts}` : ''}`,
    );
  }
  for (const x of m.question)
    lines.push(`;${x.name} ${x.klass === 1 ? 'IN' : `CLASS${x.klass}`} ${typeName(x.type)}`);
  for (const section of ['answer', 'authority', 'additional'] as const) {
    for (const rec of m[section]) {
      const rdata = rec.rdata.length > 80 ? `${rec.rdata.slice(0, 77)}...` : rec.rdata;
      lines.push(`${section.slice(0, 4)}: ${rec.name} ${rec.ttl} ${typeName(rec.type)} ${rdata}`);
    }
  }
  return lines.join('\n');
}
