/**
 * The one logger of every weft process (proxy, control plane, CA, `weft up` children): pino, JSON
 * lines on stderr — what container log collectors expect — so stdout stays free for the lines
 * scripts read. Level from `WEFT_LOG_LEVEL`.
 */
import pino, { type Logger } from 'pino';
import { WeftError } from './errors';

/** The levels a weft log call uses. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log sink: what parts take as a dependency (tests pass their own). */
export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** The environment variable that sets the level: trace, debug, info (default), warn, error, fatal or silent. */
export const LOG_LEVEL_ENV = 'WEFT_LOG_LEVEL';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * A pino logger for `component` (`weft-proxy`, `weft-control-plane`, …): JSON lines on stderr with
 * `level` as a name, an ISO `time`, `component` and `pid`; written synchronously, so a line logged
 * just before `process.exit` is not lost.
 * @throws WeftError WEFT_ERR_LOG_LEVEL when `WEFT_LOG_LEVEL` is set to something else than a level name.
 */
export function createLogger(component: string, env: Readonly<Record<string, string | undefined>> = process.env, destination: number = 2): Logger {
  const level = env[LOG_LEVEL_ENV] || 'info';
  if (!LEVELS.includes(level)) {
    throw new WeftError('WEFT_ERR_LOG_LEVEL', `${LOG_LEVEL_ENV}=${JSON.stringify(level)} is not a level; use one of ${LEVELS.join(', ')}`);
  }
  return pino({
    level,
    base: { component, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, pino.destination({ dest: destination, sync: true }));
}

/** `createLogger` as a `Log` sink (fields go into the JSON line beside `msg`). */
export function createLog(component: string, env?: Readonly<Record<string, string | undefined>>, destination?: number): Log {
  const logger = createLogger(component, env, destination);
  return (level, msg, fields) => logger[level](fields ?? {}, msg);
}
