/**
 * The terminal handler of the concrete stack: pick an endpoint of the request's cluster, send the
 * request through its client, and feed the result back into load (EWMA, in-flight) and outlier
 * detection. Fails fast with 503 `no_endpoints` when nothing is available (the control plane is
 * authoritative: we never wait for endpoints that may not come).
 */
import { ClusterNotFoundError, NoEndpointsError, toProxyError } from '../http/errors';
import { onBodyDone } from '../stack/body';
import { fact, setFact } from '../stack/meta';
import type { Handler, ProxyRequest } from '../stack/types';
import type { Backends } from './backends';
import { FAILURE_PENALTY_MS } from './ewma';
import { outcomeOf } from './outlier';

/** Balances each request over the endpoints of `fact(req, 'weft.cluster')`. */
export function balance(backends: Backends, now: () => number): Handler {
  return async (req) => {
    const cluster = fact(req, 'weft.cluster') ?? '';
    const b = backends.get(cluster);
    if (!b) throw new ClusterNotFoundError(cluster);
    const ep = b.pick(fact(req, 'weft.hash'));
    if (!ep) throw new NoEndpointsError(cluster);
    setFact(req, 'weft.endpoint', ep.key);
    ep.inFlight++; // before waiting for a connection, so P2C sees the queue as load
    let release: (() => void) | undefined;
    if (usesConnection(ep.handler, req, b.config.protocol)) {
      try {
        release = await ep.connections.acquire(req.signal);
      } catch (err) {
        b.finished(ep); // shed by the per-host cap: says nothing about the endpoint's health
        throw err;
      }
    }
    const start = now();
    let res;
    try {
      res = await ep.handler(req);
    } catch (err) {
      release?.();
      const e = toProxyError(err, ep.key);
      ep.ewma.observe(Math.max(now() - start, FAILURE_PENALTY_MS), now());
      // A cancelled request says nothing about the endpoint's health.
      if (e.reason !== 'cancelled') b.record(ep, outcomeOf(e.reason === 'connect_failure' ? 'connect_failure' : 'reset'));
      b.finished(ep);
      throw e;
    }
    ep.ewma.observe(now() - start, now());
    // A trailers-only gRPC UNAVAILABLE is a failed call even though HTTP says 200.
    const gs = res.headers['grpc-status'];
    b.record(ep, req.grpc && (Array.isArray(gs) ? gs[0] : gs) === '14' ? 'gateway' : outcomeOf(res.status));
    onBodyDone(res, () => {
      release?.();
      b.finished(ep);
    });
    return res;
  };
}

/**
 * Whether `req` will hold a pooled connection of its own (HTTP/1.1) and so counts against the
 * per-host cap. The endpoint client says so when it can (it picks the wire protocol per request:
 * proxy/transport/endpoints.ts); otherwise the cluster's protocol decides.
 */
function usesConnection(handler: Handler, req: ProxyRequest, protocol: 'http1' | 'http2'): boolean {
  const hint = (handler as { connectionPerRequest?: (r: ProxyRequest) => boolean }).connectionPerRequest;
  return typeof hint === 'function' ? hint(req) : protocol === 'http1';
}
