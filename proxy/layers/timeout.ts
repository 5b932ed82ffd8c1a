/**
 * Request deadlines (gRFC A31): the smallest of the route timeout, max_stream_duration (route, else
 * listener) and, for gRPC, the caller's `grpc-timeout` (capped by grpc_timeout_header_max). It sits
 * ABOVE retries so the deadline covers every try. Before response headers the timeout is a 504;
 * after them it aborts the stream, because a started response cannot change its status.
 */
import { TimeoutError } from '../http/errors';
import { onBodyDone } from '../stack/body';
import type { Layer, ProxyRequest } from '../stack/types';
import { forwardOf } from './route';

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Milliseconds of a `grpc-timeout` header (`100m`, `5S`), or undefined when absent or malformed. */
export function parseGrpcTimeout(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  const m = s ? /^(\d{1,8})([HMSmun])$/.exec(s) : null;
  return m ? Math.max(0, Math.ceil(Number(m[1]) * GRPC_UNITS[m[2]])) : undefined;
}

/** The deadline for `req` in ms, or undefined for none. `listenerMaxStreamMs` is the HCM default. */
export function deadlineFor(req: ProxyRequest, listenerMaxStreamMs?: number): { ms: number; kind: 'timeout' | 'stream_timeout' } | undefined {
  const a = forwardOf(req);
  const candidates: { ms: number; kind: 'timeout' | 'stream_timeout' }[] = [];
  if (a?.timeoutMs) candidates.push({ ms: a.timeoutMs, kind: 'timeout' });
  const stream = a?.maxStreamDurationMs ?? listenerMaxStreamMs;
  if (stream) candidates.push({ ms: stream, kind: 'stream_timeout' });
  if (req.grpc) {
    const header = parseGrpcTimeout(req.headers['grpc-timeout']);
    const cap = a?.grpcTimeoutHeaderMaxMs;
    if (header !== undefined) candidates.push({ ms: cap ? Math.min(header, cap) : header, kind: 'timeout' });
  }
  if (candidates.length === 0) return undefined;
  return candidates.reduce((a, b) => (b.ms < a.ms ? b : a));
}

/** The timeout layer; `listenerMaxStreamMs` gives the listener's default max_stream_duration. */
export function timeout(listenerMaxStreamMs: (req: ProxyRequest) => number | undefined = () => undefined): Layer {
  return (next) => async (req) => {
    const d = deadlineFor(req, listenerMaxStreamMs(req));
    if (!d) return next(req);
    const ac = new AbortController();
    const err = new TimeoutError(d.kind, d.ms);
    const onDownstreamAbort = () => ac.abort(req.signal.reason);
    if (req.signal.aborted) onDownstreamAbort();
    else req.signal.addEventListener('abort', onDownstreamAbort, { once: true });
    const headers = req.grpc ? { ...req.headers, 'grpc-timeout': `${Math.max(1, d.ms)}m` } : req.headers;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort(err);
        reject(err);
      }, d.ms);
    });
    expired.catch(() => undefined);
    const cleanup = () => {
      clearTimeout(timer);
      req.signal.removeEventListener('abort', onDownstreamAbort);
    };
    const pending = next({ ...req, headers, signal: ac.signal });
    let res;
    try {
      res = await Promise.race([pending, expired]);
    } catch (e) {
      cleanup();
      // A response that arrives after the deadline is dropped so its connection is freed.
      pending.then((late) => late.body?.destroy(), () => undefined);
      throw e;
    }
    // The deadline still covers the body: on expiry the stream is aborted (the client resets it).
    ac.signal.addEventListener('abort', () => res.body?.destroy(ac.signal.reason instanceof Error ? ac.signal.reason : err), { once: true });
    onBodyDone(res, cleanup);
    return res;
  };
}
