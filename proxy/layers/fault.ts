/**
 * Fault injection (Envoy HTTPFault): a fixed delay and/or an abort for a percentage of tries. It
 * sits BELOW retries (unlike Envoy, where it runs before the router) so that an injected 503 or
 * UNAVAILABLE exercises the route's retry policy the way a real failing upstream would.
 */
import { GrpcStatus } from '../http/errors';
import { WEFT_ERROR_HEADER, grpcTrailersOnly, syntheticResponse } from '../http/respond';
import { fact } from '../stack/meta';
import type { Layer } from '../stack/types';
import { routeOf } from './route';

/** HTTP status → gRPC status, as gRPC maps HTTP errors it receives. */
export function grpcStatusForHttp(status: number): number {
  if (status === 400) return GrpcStatus.INTERNAL;
  if (status === 401) return 16;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcStatus.UNAVAILABLE;
  return GrpcStatus.UNKNOWN;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The fault layer; `random` decides the percentages. */
export function fault(random: () => number): Layer {
  return (next) => async (req) => {
    const f = routeOf(req)?.fault;
    if (!f) return next(req);
    if (f.delay && f.delay.ms > 0 && random() * 100 < f.delay.percent) await delay(f.delay.ms, req.signal);
    const a = f.abort;
    if (a && random() * 100 < a.percent) {
      const route = fact(req, 'weft.routeName');
      const headers = { [WEFT_ERROR_HEADER]: `fault_abort${route ? ` route=${route.replace(/[^\x21-\x7e]/g, '_')}` : ''}` };
      if (req.grpc) return grpcTrailersOnly(a.grpcStatus ?? grpcStatusForHttp(a.httpStatus ?? 503), 'fault injected', headers);
      return syntheticResponse(a.httpStatus ?? 503, 'fault injected\n', headers);
    }
    return next(req);
  };
}
