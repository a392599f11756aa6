/**
 * roje's JSON Schema builder (the config, the admin API's and the block page's routes, the verify
 * suite): the part of TypeBox's `Type` they use, making the very objects TypeBox makes (the same JSON
 * Schema, and TypeBox's Kind and Optional symbols, so TypeBox's own Value.Check and type guards accept
 * them), typed as TypeBox's so that `Static<>` works as before.
 *
 * Why not TypeBox itself: importing it loads ~200 modules, ~0.15 s of CPU before the first answer for
 * the config schema and ~2 MiB of heap for as long as roje runs for the routes' (issue #21: an idle roje
 * held them all). test/config/json-schema.test.ts builds the whole config schema with both and compares
 * each builder with TypeBox's.
 */
import type { Type as TypeBox } from '@sinclair/typebox';

type Builder = Pick<
  typeof TypeBox,
  | 'Array'
  | 'Boolean'
  | 'Integer'
  | 'Literal'
  | 'Null'
  | 'Number'
  | 'Object'
  | 'Optional'
  | 'Record'
  | 'String'
  | 'Union'
  | 'Unknown'
>;

// TypeBox's symbol keys (registered symbols: the same values as the ones TypeBox makes).
const Kind = Symbol.for('TypeBox.Kind');
const OptionalKind = Symbol.for('TypeBox.Optional');

type Schema = Record<string | symbol, unknown>;
type Options = Record<string, unknown> | undefined;

/** As TypeBox's CreateType in its default instance mode: the options first, the schema's own keys over them. */
const create = (schema: Schema, options: Options): Schema =>
  options !== undefined ? { ...options, ...schema } : schema;

const simple =
  (kind: string, type: string) =>
  (options?: Options): Schema =>
    create({ [Kind]: kind, type }, options);

function object(properties: Record<string, Schema>, options?: Options): Schema {
  const required = Object.keys(properties).filter((key) => properties[key]?.[OptionalKind] !== 'Optional');
  const schema: Schema =
    required.length > 0
      ? { [Kind]: 'Object', type: 'object', required, properties }
      : { [Kind]: 'Object', type: 'object', properties };
  return create(schema, options);
}

function union(types: Schema[], options?: Options): Schema {
  if (types.length === 0) throw new Error("Type.Union of no type: not used by roje's schemas");
  return types.length === 1
    ? create(types[0] as Schema, options)
    : create({ [Kind]: 'Union', anyOf: types }, options);
}

/** Only the form roje uses: a string key with a pattern. */
function record(key: Schema, value: Schema, options: Options = {}): Schema {
  if (key[Kind] !== 'String' || typeof key.pattern !== 'string') {
    throw new Error('Type.Record: this builder takes a Type.String({ pattern }) key only');
  }
  return create({ [Kind]: 'Record', type: 'object', patternProperties: { [key.pattern]: value } }, options);
}

const implementation = {
  Array: (items: Schema, options?: Options) => create({ [Kind]: 'Array', type: 'array', items }, options),
  Boolean: simple('Boolean', 'boolean'),
  Integer: simple('Integer', 'integer'),
  Literal: (value: unknown, options?: Options) =>
    create({ [Kind]: 'Literal', const: value, type: typeof value }, options),
  Null: simple('Null', 'null'),
  Number: simple('Number', 'number'),
  Object: object,
  Optional: (schema: Schema) => ({ ...schema, [OptionalKind]: 'Optional' }),
  Record: record,
  String: simple('String', 'string'),
  Union: union,
  Unknown: (options?: Options) => create({ [Kind]: 'Unknown' }, options),
};

export const Type = implementation as unknown as Builder;
