import t from 'tap';
import { supportsReusePort } from '../../src/transport/reuse-port.js';

t.test('reusePort arrived in Node.js 22.12 and 23.1', async (t) => {
  for (const v of ['20.20.2', '22.11.0', '18.0.0']) t.notOk(supportsReusePort(v), v);
  for (const v of ['22.12.0', '22.23.5', '23.1.0', '24.22.3', '26.0.0']) t.ok(supportsReusePort(v), v);
});
