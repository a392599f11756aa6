import t from 'tap';
import { isRojeError } from '../../src/errors.js';
import { parseUpstreamUrl } from '../../src/upstream/url.js';

t.test('valid URLs', async (t) => {
  t.same(parseUpstreamUrl('udp://192.0.2.53'), {
    protocol: 'udp',
    host: '192.0.2.53',
    port: 53,
    url: 'udp://192.0.2.53:53',
  });
  t.same(parseUpstreamUrl('udp://[::1]:5300'), {
    protocol: 'udp',
    host: '::1',
    port: 5300,
    url: 'udp://[::1]:5300',
  });
  t.same(parseUpstreamUrl('TCP://127.0.0.1:5353/'), {
    protocol: 'tcp',
    host: '127.0.0.1',
    port: 5353,
    url: 'tcp://127.0.0.1:5353',
  });
  t.same(parseUpstreamUrl('tls://192.0.2.1#Dns.Example.'), {
    protocol: 'tls',
    host: '192.0.2.1',
    port: 853,
    servername: 'dns.example',
    url: 'tls://192.0.2.1:853#dns.example',
  });
  t.same(parseUpstreamUrl('tls://[2001:db8::1]:8853'), {
    protocol: 'tls',
    host: '2001:db8::1',
    port: 8853,
    servername: '2001:db8::1',
    url: 'tls://[2001:db8::1]:8853',
  });
  t.same(parseUpstreamUrl('https://dns.example/dns-query'), {
    protocol: 'https',
    host: 'dns.example',
    port: 443,
    servername: 'dns.example',
    url: 'https://dns.example/dns-query',
  });
  t.same(parseUpstreamUrl('https://[::1]:8443/q?x=1'), {
    protocol: 'https',
    host: '::1',
    port: 8443,
    url: 'https://[::1]:8443/q?x=1',
  });
});

t.test('invalid URLs say what form is expected', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['192.0.2.1', /no scheme/],
    ['dns://192.0.2.1', /not supported/],
    ['udp://dns.google', /not an IP address/],
    ['tcp://resolver.example:53', /not an IP address/],
    ['tls://dns.example', /tls:\/\/IP#dns\.example/],
    ['udp://::1', /brackets/],
    ['udp://[192.0.2.1]', /only IPv6/],
    ['udp://[::1', /not of the form/],
    ['udp://192.0.2.1:0', /out of range/],
    ['udp://192.0.2.1:65536', /out of range/],
    ['udp://192.0.2.1:5x', /not a number/],
    ['udp://192.0.2.1#name', /only tls/],
    ['udp://1.2.3', /not an IP address/],
    ['tls://192.0.2.1#bad name', /not a valid TLS server name/],
    ['https://dns.example', /path is missing/],
    ['https://user:pw@dns.example/dns-query', /credentials/],
    ['https://', /not a valid https URL/],
  ];
  for (const [url, why] of cases) {
    try {
      parseUpstreamUrl(url);
      t.fail(`accepted ${url}`);
    } catch (err) {
      t.ok(isRojeError(err, 'ROJE_ERR_UPSTREAM_URL'), `${url}: code`);
      t.match((err as Error).message, why, `${url}: reason`);
      t.match((err as Error).message, /expected udp:\/\/IP\[:port\]/, `${url}: expected form`);
    }
  }
});
