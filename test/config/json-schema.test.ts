/**
 * roje's schema builder (src/config/json-schema.ts) against TypeBox: the whole config schema built both
 * ways is the same object, key for key and in the same key order (the digest of the built schema check
 * depends on it), TypeBox's symbol keys included; and each builder the routes use makes what TypeBox's does.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Type as TypeBox } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import t from 'tap';
import { Type } from '../../src/config/json-schema.js';
import { ConfigSchema } from '../../src/config/schema.js';

const run = promisify(execFile);

/** The object with its symbol keys as strings, so that t.same and JSON compare them too. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Reflect.ownKeys(value)) {
    out[typeof key === 'symbol' ? `@${key.description}` : key] = canonical(
      (value as Record<PropertyKey, unknown>)[key],
    );
  }
  return out;
}

/**
 * The config schema of the build (dist/), printed by a child node whose loader hands the schema modules
 * `typebox` (TypeBox's own Type) or our builder as src/config/json-schema.js.
 */
async function builtSchema(builder: 'typebox' | 'ours'): Promise<string> {
  const dist = new URL('../../dist/config/', import.meta.url);
  const typebox = createRequire(import.meta.url).resolve('@sinclair/typebox');
  const hooks = `export async function resolve(specifier, context, next) {
    const r = await next(specifier, context);
    return ${builder === 'typebox'} && r.url.endsWith('/config/json-schema.js')
      ? { url: ${JSON.stringify(pathToFileURL(typebox).href)}, shortCircuit: true }
      : r;
  }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const script = `${canonical.toString()}
    const { ConfigSchema } = await import(${JSON.stringify(new URL('schema.js', dist).href)});
    process.stdout.write(JSON.stringify(canonical(ConfigSchema)));`;
  const { stdout } = await run(process.execPath, [
    '--import',
    `data:text/javascript,${encodeURIComponent(register)}`,
    '--input-type=module',
    '-e',
    script,
  ]);
  return stdout;
}

t.test('the whole config schema, built with TypeBox and with ours, is one schema', async (t) => {
  const [theirs, mine] = await Promise.all([builtSchema('typebox'), builtSchema('ours')]);
  t.ok(theirs.length > 10_000, `a whole schema (${theirs.length} bytes)`);
  t.equal(mine, theirs, 'same keys in the same order, TypeBox symbols included');
  t.match(theirs, /TypeBox\.Optional/, 'optional keys are marked as TypeBox marks them');
  t.equal(mine, JSON.stringify(canonical(ConfigSchema)), 'the build is this source');
});

t.test('each builder as TypeBox', async (t) => {
  const pairs: Array<[string, unknown, unknown]> = [
    ['String', Type.String({ pattern: '^a$' }), TypeBox.String({ pattern: '^a$' })],
    ['Integer', Type.Integer({ minimum: 1, default: 3 }), TypeBox.Integer({ minimum: 1, default: 3 })],
    ['Number', Type.Number(), TypeBox.Number()],
    ['Boolean', Type.Boolean({ default: true }), TypeBox.Boolean({ default: true })],
    ['Null', Type.Null(), TypeBox.Null()],
    ['Unknown', Type.Unknown(), TypeBox.Unknown()],
    ['Unknown with options', Type.Unknown({ description: 'any' }), TypeBox.Unknown({ description: 'any' })],
    ['Literal', Type.Literal('x', { description: 'd' }), TypeBox.Literal('x', { description: 'd' })],
    ['Array', Type.Array(Type.String(), { maxItems: 2 }), TypeBox.Array(TypeBox.String(), { maxItems: 2 })],
    [
      'Union of one',
      Type.Union([Type.Null()], { default: null }),
      TypeBox.Union([TypeBox.Null()], { default: null }),
    ],
    ['Union', Type.Union([Type.Null(), Type.String()]), TypeBox.Union([TypeBox.Null(), TypeBox.String()])],
    [
      'Object',
      Type.Object({ a: Type.String(), b: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
      TypeBox.Object(
        { a: TypeBox.String(), b: TypeBox.Optional(TypeBox.Integer()) },
        { additionalProperties: false },
      ),
    ],
    [
      'Object with only optional keys',
      Type.Object({ b: Type.Optional(Type.Integer()) }),
      TypeBox.Object({ b: TypeBox.Optional(TypeBox.Integer()) }),
    ],
    [
      'Record',
      Type.Record(Type.String({ pattern: '^[a-z]+$' }), Type.Boolean(), { default: {} }),
      TypeBox.Record(TypeBox.String({ pattern: '^[a-z]+$' }), TypeBox.Boolean(), { default: {} }),
    ],
  ];
  for (const [name, mine, theirs] of pairs) {
    t.equal(JSON.stringify(canonical(mine)), JSON.stringify(canonical(theirs)), name);
  }
  t.throws(
    () => Type.Record(Type.String(), Type.Boolean()),
    /pattern/,
    'a Record key without a pattern is refused',
  );
  t.throws(() => Type.Union([]), /no type/);
});

t.test("TypeBox's checker takes our schemas (the tokens file is checked with it)", async (t) => {
  const entry = Type.Object({
    name: Type.String(),
    role: Type.Union([Type.Literal('admin'), Type.Literal('auditor')]),
  });
  t.ok(Value.Check(entry, { name: 'a', role: 'admin' }));
  t.notOk(Value.Check(entry, { name: 'a', role: 'root' }));
  t.notOk(Value.Check(entry, { role: 'admin' }));
});
