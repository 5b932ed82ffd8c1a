/**
 * JSON access logs (pino), one line per request after the response head, off by default. The
 * layer sits outermost so it logs proxy-made responses (weft-error) as well as the app's.
 */
import pino, { type Logger } from 'pino';
import type { Layer } from '../stack/types';

/** A pino logger writing JSON lines to `destination` (a file descriptor or path). @default stdout */
export function accessLogger(destination: number | string = 1): Logger {
  return pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, pino.destination({ dest: destination, sync: false }));
}

/** The access-log layer. */
export function accessLog(logger: Logger, direction: 'inbound' | 'outbound'): Layer {
  return (next) => async (req) => {
    const start = performance.now();
    const entry = {
      direction, method: req.method, authority: req.authority, path: req.path, protocol: `HTTP/${req.httpVersion}`,
      peer: `${req.peer.address}:${req.peer.port}`, identity: req.peer.identity,
    };
    try {
      const res = await next(req);
      const reason = res.headers['weft-error'];
      logger.info({
        ...entry, status: res.status, grpc_status: res.headers['grpc-status'], weft_error: reason,
        duration_ms: Math.round((performance.now() - start) * 100) / 100, trace_id: req.meta.get('weft.traceId'),
        route: req.meta.get('weft.routeName'), upstream: req.meta.get('weft.endpoint'),
      }, 'request');
      return res;
    } catch (e) {
      logger.info({ ...entry, status: 0, error: (e as Error).message, duration_ms: Math.round(performance.now() - start) }, 'request');
      throw e;
    }
  };
}
