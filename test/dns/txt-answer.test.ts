/**
 * roje's own CHAOS TXT answer: AA (roje is the authority for version.roje. and policy.roje.) and, as
 * on every answer, RA (RFC 1035 §4.1.1); RD and CD echoed, one TXT per string, OPT only with EDNS.
 */
import dnsPacket from 'dns-packet';
import t from 'tap';
import { isRejection, readQuery } from '../../src/dns/query.js';
import { txtAnswer } from '../../src/dns/txt-answer.js';

function parse(flags: number, edns: boolean) {
  const msg = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags,
    questions: [{ name: 'version.roje', type: 'TXT', class: 'CH' }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as unknown as dnsPacket.Answer]
      : [],
  });
  const q = readQuery(msg);
  if (isRejection(q)) throw new Error(q.reason);
  return q;
}

t.test('RFC 1035 §4.1.1: CH TXT answers carry AA and RA, RD and CD echoed', async (t) => {
  const out = txtAnswer(parse(0x0100 | 0x0010, true), ['roje 0.1.0', 'lists 2'], 1232);
  t.equal(out.readUInt16BE(2), 0x8000 | 0x0400 | 0x0100 | 0x0080 | 0x0010);
  const d = dnsPacket.decode(out);
  t.same(
    d.answers!.map((a) => (a as { data: Buffer[] }).data.map(String)),
    [['roje 0.1.0'], ['lists 2']],
  );
  t.equal(d.additionals!.length, 1, 'OPT for an EDNS client');
  const plain = txtAnswer(parse(0, false), ['x'], 1232);
  t.equal(plain.readUInt16BE(2), 0x8000 | 0x0400 | 0x0080, 'RD 0 echoed; RA all the same');
  t.equal(plain.readUInt16BE(10), 0, 'no OPT without EDNS');
});
