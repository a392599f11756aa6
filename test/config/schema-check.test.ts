/**
 * The config check compiled at build time (dist/config/schema-check.generated.js) is the one a start
 * uses, and it judges every config exactly as the check compiled at run time from the schema: the same
 * defaults filled in, the same errors. `npm test` builds before it runs the tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { compileSchemaCheck, SCHEMA_DIGEST } from '../../src/config/schema-check.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/config/${file}`, import.meta.url));
const GENERATED = dist('schema-check.generated.js');
if (!existsSync(GENERATED)) {
  t.plan(0, 'dist/ is not built (npm run build): the generated check is tested after a build');
  process.exit(0);
}

const generated = (await import(GENERATED)) as {
  SCHEMA_DIGEST: string;
  validate: Awaited<ReturnType<typeof compileSchemaCheck>>;
};
const compiled = await compileSchemaCheck();

t.equal(generated.SCHEMA_DIGEST, SCHEMA_DIGEST, 'the build is of this schema');

t.test('a start uses the generated check', async (t) => {
  const built = (await import(dist('schema-check.js'))) as { loadSchemaCheck: () => Promise<unknown> };
  t.equal(await built.loadSchemaCheck(), generated.validate);
});

const configs: Array<[string, unknown]> = [
  ['empty', {}],
  ['the reference config', parse(readFileSync(new URL('../../deploy/roje.yaml', import.meta.url), 'utf8'))],
  [
    'the compose config',
    parse(readFileSync(new URL('../../deploy/compose-roje.yaml', import.meta.url), 'utf8')),
  ],
  ['a misspelt key', { upstreams: ['udp://127.0.0.1:53'], cahce: {} }],
  ['a bad duration', { cache: { serveStale: { maxStale: '10 minutes' } } }],
  ['a bad listen address', { listen: ['127.0.0.1:99999'] }],
  ['a bad CIDR', { acl: { allow: ['10.0.0.0/33'] } }],
  ['a bad upstream URL', { upstreams: ['tcp://'] }],
  ['a wrong type', { workers: 'many', rateLimit: { enabled: 'yes' } }],
  ['a bad policy', { policies: { default: { blockMode: 'explode', block: 'adult' } } }],
];

for (const [name, raw] of configs) {
  t.test(`the same verdict: ${name}`, async (t) => {
    const a = structuredClone(raw);
    const b = structuredClone(raw);
    const okA = generated.validate(a);
    const okB = compiled(b);
    t.equal(okA, okB, 'valid or not, alike');
    t.same(a, b, 'the same defaults filled in');
    const errors = (v: typeof compiled) =>
      (v.errors ?? []).map((e) => ({ path: e.instancePath, keyword: e.keyword, params: e.params }));
    t.same(errors(generated.validate), errors(compiled), 'the same errors');
    if (name !== 'empty' && !name.startsWith('the ')) t.notOk(okA, 'the mistake is caught');
  });
}
