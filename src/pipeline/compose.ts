import type { Handler, Stage } from './types.js';

/** Wraps `terminal` in `stages`, first stage outermost: the order of the array is the order a query takes. */
export function compose(stages: readonly Stage[], terminal: Handler): Handler {
  let handler = terminal;
  for (let i = stages.length - 1; i >= 0; i--) handler = stages[i](handler);
  return handler;
}
