import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { isFeedSource } from '../../src/feeds/types.js';

// deploy/friendly-wifi.yaml is a starting point operators copy: it must stay a valid config.
t.test('the Friendly WiFi example config validates', async (t) => {
  const file = fileURLToPath(new URL('../../deploy/friendly-wifi.yaml', import.meta.url));
  const cfg = await loadConfig({ file, flags: { upstreams: ['udp://127.0.0.1:5300'] } });
  const feeds = cfg.lists.filter(isFeedSource);
  t.same([...new Set(cfg.lists.map((l) => l.category))].sort(), [
    'adult',
    'doh-bypass',
    'gambling',
    'nosafesearch',
    'phishing',
  ]);
  t.equal(feeds.length, 6, 'six public feeds');
  t.ok(
    feeds.every((f) => f.feed.url.startsWith('https://')),
    'fetched over HTTPS',
  );
  t.ok(
    cfg.lists.some((l) => l.name === 'roje-allow-adult' && l.path.endsWith('blocklists/allow/adult.adblock')),
  );
  t.equal(cfg.stateDir, '/var/lib/roje');
  t.equal(cfg.policies.default.blockMode, 'blockpage');
});
