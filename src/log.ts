import { type DestinationStream, type Logger, pino } from 'pino';

/** pino JSON logs with stable keys. Synchronous: nothing logs per query by default, and a crash must not lose the last lines. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'roje',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
