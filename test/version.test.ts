import t from 'tap';
import { VERSION } from '../src/version.js';

t.test('version is semver', async (t) => {
  t.match(VERSION, /^\d+\.\d+\.\d+$/);
});
