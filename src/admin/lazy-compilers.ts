/**
 * Fastify compiles every route's validators (ajv) and response serializers (fast-json-stringify) while
 * the server starts: generated code for some 60 routes, ~2 MiB of heap and a share of the control
 * plane's start, held for as long as roje runs by a resolver whose operator calls a handful of them
 * (issue #21). These are Fastify's own compilers, with the options Fastify gives them, wrapped so that a
 * route's function is compiled at its first request; a schema that cannot compile then fails that
 * request with a 500 instead of the start (test/admin/server.test.ts compiles every route's at start).
 */
import type { FastifyServerOptions } from 'fastify';
import { lazyRequire } from '../lazy.js';

/** What Fastify reads of a validator: a call, `errors` after a failed one, `schemaEnv` for root coercion. */
type Validate = ((this: unknown, data: unknown, options?: unknown) => unknown) & {
  errors?: unknown;
  schemaEnv?: unknown;
};
type Serialize = (data: unknown) => string;

function lazyValidator(compile: () => Validate): Validate {
  let compiled: Validate | undefined;
  const get = () => {
    compiled ??= compile();
    return compiled;
  };
  const validate = function (this: unknown, data: unknown, options?: unknown): unknown {
    return get().call(this, data, options);
  } as Validate;
  // Getters: Fastify reads `schemaEnv` before the call, and `errors` after it (after an async one too).
  Object.defineProperties(validate, {
    errors: { get: () => compiled?.errors },
    schemaEnv: { get: () => get().schemaEnv },
  });
  return validate;
}

function lazySerializer(compile: () => Serialize): Serialize {
  let compiled: Serialize | undefined;
  return (data) => {
    compiled ??= compile();
    return compiled(data);
  };
}

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Factories = NonNullable<SchemaController['compilersFactory']>;
/** Fastify's factories: (shared schemas, options) => (route) => the route's function. */
type BuildValidator = (...args: unknown[]) => (route: unknown) => Validate;
type BuildSerializer = (...args: unknown[]) => (route: unknown) => Serialize;

// Each package's export is the function that makes its factory (as Fastify calls them).
const ajvCompiler = lazyRequire<() => BuildValidator>('@fastify/ajv-compiler');
const serializerCompiler = lazyRequire<() => BuildSerializer>('@fastify/fast-json-stringify-compiler');

/** Fastify's `schemaController` option: its compilers, each route's function made on first use. */
export function lazySchemaCompilers(): SchemaController {
  const buildValidator = ajvCompiler()();
  const buildSerializer = serializerCompiler()();
  const compilersFactory = {
    buildValidator: (...args: unknown[]) => {
      const compile = buildValidator(...args);
      return (route: unknown) => lazyValidator(() => compile(route));
    },
    buildSerializer: (...args: unknown[]) => {
      const compile = buildSerializer(...args);
      return (route: unknown) => lazySerializer(() => compile(route));
    },
  };
  return { compilersFactory: compilersFactory as unknown as Factories };
}
