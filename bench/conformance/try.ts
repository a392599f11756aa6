import { execFileSync } from 'node:child_process';
import { startPeers } from '../../test/helpers/conformance/peers.js';

const p = await startPeers();
for (const s of [p.unbound, p.roje]) {
  for (const args of [
    ['www.conf.example', 'A'],
    ['+dnssec', 'www.signed.example', 'A'],
    ['hidden.onion'],
    ['+norec', 'alias.conf.example'],
    ['MAILA', 'conf.example'],
  ])
    console.log(execFileSync('kdig', ['@127.0.0.1', '-p', String(s.port), ...args]).toString());
}
await p.stop();
