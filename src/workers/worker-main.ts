/**
 * Entry point of a query loop, as a worker thread (workerData + parentPort) or as a cluster worker
 * process (IPC with advanced serialization). Either way it builds a query loop (query-loop.ts) and
 * relays messages; anything it cannot handle ends it, and its primary starts a replacement.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { createQueryLoop, type QueryLoop } from './query-loop.js';

function run(init: WorkerInit, send: (m: FromWorker) => void, onMessage: (f: (m: ToWorker) => void) => void) {
  const logger = createLogger(init.config.log.level).child({ worker: init.index });
  const plane: QueryLoop = createQueryLoop(init, { send }, logger);
  // Messages are handled one at a time, in order (a swap is never overtaken by a stop).
  let queue = Promise.resolve();
  onMessage((message) => {
    queue = queue
      .then(() => plane.handle(message))
      .catch((err: unknown) => {
        logger.fatal({ err }, 'query loop failed');
        send({
          type: 'fatal',
          message: (err as Error).message,
          ...((err as { code?: string }).code !== undefined ? { code: (err as { code: string }).code } : {}),
        });
        process.exitCode = 1;
      });
  });
}

if (parentPort !== null) {
  const port = parentPort;
  run(
    workerData as WorkerInit,
    (m) => port.postMessage(m),
    (f) => port.on('message', f),
  );
} else if (process.send !== undefined) {
  const send = (m: FromWorker) => process.send?.(m);
  process.once('message', (first: ToWorker) => {
    if (first.type !== 'init') throw new Error(`a query loop process expects init first, got ${first.type}`);
    run(first, send, (f) => process.on('message', f));
  });
  send({ type: 'hello' });
  // The primary going away leaves nothing to answer for.
  process.on('disconnect', () => process.exit(0));
}
