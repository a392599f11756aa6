/**
 * A fake upstream on loopback that answers what the built-in friendly-wifi suite asks beyond the
 * blocked names: the search engines' SafeSearch hosts and the sites that must resolve. The addresses
 * are documentation ranges and public SafeSearch addresses, only ever carried in answers.
 */
import { type FakeUpstream, startFakeUpstream } from './fake-upstream.js';

export async function startSelfTestUpstream(): Promise<FakeUpstream> {
  const fake = await startFakeUpstream({
    apexes: [
      'google.com',
      'youtube.com',
      'bing.com',
      'duckduckgo.com',
      'wikipedia.org',
      'bbc.co.uk',
      'e-albania.al',
      'unicef.org',
    ],
  });
  for (const [name, address] of [
    ['forcesafesearch.google.com', '216.239.38.120'],
    ['restrictmoderate.youtube.com', '216.239.38.119'],
    ['strict.bing.com', '204.79.197.220'],
    ['safe.duckduckgo.com', '52.250.41.2'],
    ['www.wikipedia.org', '198.51.100.10'],
    ['www.bbc.co.uk', '198.51.100.11'],
    ['e-albania.al', '198.51.100.12'],
    ['www.unicef.org', '198.51.100.13'],
  ]) {
    fake.zone.set(name, 'A', [{ data: address, ttl: 300 }]);
  }
  fake.zone.set('forcesafesearch.google.com', 'AAAA', [{ data: '2001:4860:4802:32::78', ttl: 300 }]);
  return fake;
}
