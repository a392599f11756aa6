import type { PeerCertificate } from 'node:tls';
import t from 'tap';
import { checkServerIdentity } from '../../src/upstream/server-identity.js';

const cert = (subjectaltname: string) => ({ subject: {}, subjectaltname }) as unknown as PeerCertificate;

t.test('an IPv6 literal matches an IP Address SAN in any spelling', async (t) => {
  t.equal(checkServerIdentity('::1', cert('DNS:dns.roje.test, IP Address:0:0:0:0:0:0:0:1')), undefined);
  t.equal(checkServerIdentity('2001:db8::53', cert('IP Address:2001:DB8:0:0:0:0:0:53')), undefined);
  t.equal(checkServerIdentity('[::1]', cert('IP Address:::1')), undefined, 'brackets as URLs give them');
});

t.test('anything else is still refused', async (t) => {
  const wrongIp = checkServerIdentity('::2', cert('IP Address:0:0:0:0:0:0:0:1'));
  t.match(wrongIp, { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  t.match(checkServerIdentity('::1', cert('DNS:localhost')), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  t.match(checkServerIdentity('::1', cert('')), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

t.test('names and IPv4 go to Node unchanged', async (t) => {
  t.equal(checkServerIdentity('dns.roje.test', cert('DNS:dns.roje.test')), undefined);
  t.match(checkServerIdentity('evil.test', cert('DNS:dns.roje.test')), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  t.equal(checkServerIdentity('127.0.0.1', cert('IP Address:127.0.0.1')), undefined);
});
