/** `workers` and `workerMode`: how many query loops, and whether they are threads or processes. */
import { availableParallelism } from 'node:os';
import type { Static } from '@sinclair/typebox';
import { supportsReusePort } from '../../transport/reuse-port.js';
import { invalidValue } from '../config-error.js';
import { Type } from '../json-schema.js';
import type { SectionContext } from './common.js';

export const WorkersSchema = Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
  default: 1,
  description: 'query loops: one per core with auto; 1 answers on the main thread',
  'x-expected': 'auto, or a whole number from 1 to 256',
});

export const WorkerModeSchema = Type.Union(
  [Type.Literal('auto'), Type.Literal('threads'), Type.Literal('processes')],
  {
    default: 'auto',
    description:
      'threads share one copy of the lists (needs SO_REUSEPORT support: Node 22.12+); processes work everywhere; auto picks threads when it can',
    'x-expected': 'auto, threads or processes',
  },
);

/** Query loops and how they run (src/workers): count 1 answers on the main thread; 'auto' resolved here. */
export type WorkersConfig = ReturnType<typeof normalizeWorkers>;

/** `workers: auto` is one query loop per core; `workerMode: auto` is threads where SO_REUSEPORT is there. */
export function normalizeWorkers(
  ctx: SectionContext,
  count: Static<typeof WorkersSchema>,
  mode: Static<typeof WorkerModeSchema>,
) {
  if (mode === 'threads' && !supportsReusePort()) {
    throw invalidValue(
      ctx.file,
      'workerMode',
      'processes or auto on this Node.js',
      mode,
      `threads need SO_REUSEPORT (reusePort), which Node.js ${process.versions.node} lacks: it arrived in 22.12`,
    );
  }
  const auto = supportsReusePort() ? ('threads' as const) : ('processes' as const);
  return {
    count: count === 'auto' ? availableParallelism() : count,
    mode: mode === 'auto' ? auto : mode,
  };
}
