import { pino } from 'pino';
import t from 'tap';
import type { RojeConfig } from '../../src/config/schema.js';
import { type Change, createLifecycle, type Service } from '../../src/services/lifecycle.js';

const logger = pino({ level: 'silent' });
const config = {} as RojeConfig;

/** A service that records what happens to it, and fails where told. */
function service(
  name: string,
  events: string[],
  fail: { start?: boolean; prepare?: boolean; stop?: boolean } = {},
): Service {
  return {
    name,
    async start() {
      if (fail.start) throw new Error(`${name} cannot start`);
      events.push(`start ${name}`);
    },
    async stop() {
      events.push(`stop ${name}`);
      if (fail.stop) throw new Error(`${name} cannot stop`);
    },
    async prepare(): Promise<Change> {
      if (fail.prepare) throw new Error(`${name} cannot prepare`);
      events.push(`prepare ${name}`);
      return {
        commit: () => void events.push(`commit ${name}`),
        abort: () => void events.push(`abort ${name}`),
      };
    },
  };
}

t.test('starts in order and stops in reverse', async (t) => {
  const events: string[] = [];
  const life = createLifecycle(
    ['a', 'b', 'c'].map((n) => service(n, events)),
    logger,
  );
  await life.start();
  await life.stop();
  t.same(events, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

t.test('a start that fails half way stops what started, in reverse, and rejects', async (t) => {
  const events: string[] = [];
  const life = createLifecycle(
    [service('a', events), service('b', events), service('c', events, { start: true }), service('d', events)],
    logger,
  );
  await t.rejects(life.start(), /c cannot start/);
  t.same(events, ['start a', 'start b', 'stop b', 'stop a'], 'd never started, c released its own');
  await life.stop();
  t.same(events.length, 4, 'a later stop has nothing left to stop');
});

t.test('a service that fails to stop does not keep the others running', async (t) => {
  const events: string[] = [];
  const life = createLifecycle([service('a', events), service('b', events, { stop: true })], logger);
  await life.start();
  await life.stop();
  t.same(events, ['start a', 'start b', 'stop b', 'stop a']);
});

t.test('reload: every service prepares, then all commit in order', async (t) => {
  const events: string[] = [];
  const life = createLifecycle(
    ['a', 'b'].map((n) => service(n, events)),
    logger,
  );
  await life.start();
  events.length = 0;
  await life.reload(config);
  t.same(events, ['prepare a', 'prepare b', 'commit a', 'commit b']);
});

t.test('reload: a failed prepare aborts the prepared ones in reverse and commits nothing', async (t) => {
  const events: string[] = [];
  const life = createLifecycle(
    [service('a', events), service('b', events), service('c', events, { prepare: true })],
    logger,
  );
  await life.start();
  events.length = 0;
  await t.rejects(life.reload(config), /c cannot prepare/);
  t.same(events, ['prepare a', 'prepare b', 'abort b', 'abort a']);
});

t.test('start, reload and stop never overlap', async (t) => {
  const events: string[] = [];
  let release!: () => void;
  const slow: Service = {
    name: 'slow',
    start: () =>
      new Promise<void>((resolve) => {
        release = () => {
          events.push('start slow');
          resolve();
        };
      }),
    async stop() {
      events.push('stop slow');
    },
    async prepare() {
      events.push('prepare slow');
      return null;
    },
  };
  const life = createLifecycle([slow], logger);
  const started = life.start();
  const reloaded = life.reload(config);
  await new Promise((r) => setImmediate(r));
  t.same(events, [], 'the reload waits for the start');
  release();
  await Promise.all([started, reloaded]);
  t.same(events, ['start slow', 'prepare slow']);
});
