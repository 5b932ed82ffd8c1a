/**
 * Golden metrics and diagnostics events for one direction: requests by authority, route, status
 * and error reason; latency until the response body ends; `weft:proxy:request:start|end|error` on
 * diagnostics_channel. It sits just inside `rescue`, so it sees typed errors before they are
 * rendered, and above routing, so no-route and denials count too.
 */
import { channel } from 'node:diagnostics_channel';
import type { Registry } from 'prom-client';
import { InternalProxyError, ProxyError, toProxyError } from '../http/errors';
import { WEFT_ERROR_HEADER } from '../http/respond';
import { onBodyDone } from '../stack/body';
import { fact, setFact } from '../stack/meta';
import { counterIn, histogramIn } from '../stack/metric-families';
import type { Layer } from '../stack/types';
import { destinationOf, SOURCE_HEADER, sourceHeader, sourceOf, UNKNOWN, type Workload } from '../observability/peer-labels';

/** Labels of the golden request metrics. `authority` is the matched virtual host ('-' when none); `error` is the weft-error reason ('' for app responses). */
export type RequestLabels = 'direction' | 'authority' | 'route' | 'status_code' | 'grpc_status' | 'error'
  | 'source_service' | 'source_version' | 'destination_service' | 'destination_version';

/** Every label of the request families, in exposition order. */
export const REQUEST_LABELS: readonly RequestLabels[] = ['direction', 'authority', 'route', 'status_code', 'grpc_status', 'error', 'source_service', 'source_version', 'destination_service', 'destination_version'];

/** Latency buckets in seconds (1 ms … 30 s). */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The request metric scope. */
export function requestMetrics(registry: Registry) {
  return {
    requests: counterIn<RequestLabels>(registry, 'weft_proxy_requests_total', 'Requests served, by outcome.', REQUEST_LABELS),
    latency: histogramIn<RequestLabels>(registry, 'weft_proxy_request_duration_seconds', 'Time from request to end of response body.', REQUEST_LABELS, LATENCY_BUCKETS),
  };
}

/** diagnostics_channel names. */
export const CHANNELS = {
  start: channel('weft:proxy:request:start'),
  end: channel('weft:proxy:request:end'),
  error: channel('weft:proxy:request:error'),
} as const;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * `self` is this sidecar's workload: the source of outbound requests (announced to the callee in
 * `weft-source`), the destination of inbound ones (whose `weft-source` is consumed, not forwarded).
 */
export function observe(direction: 'outbound' | 'inbound', registry: Registry, now: () => number, self: Workload = { service: UNKNOWN, version: UNKNOWN }): Layer {
  const m = requestMetrics(registry);
  const announce = sourceHeader(self);
  return (next) => async (incoming) => {
    let req = incoming;
    let source = self;
    if (direction === 'outbound') {
      req = { ...incoming, headers: { ...incoming.headers, [SOURCE_HEADER]: announce } };
    } else {
      source = sourceOf(incoming.headers[SOURCE_HEADER], incoming.peer.identity);
      if (incoming.headers[SOURCE_HEADER] !== undefined) {
        const { [SOURCE_HEADER]: _consumed, ...rest } = incoming.headers;
        req = { ...incoming, headers: rest };
      }
    }
    setFact(req, 'weft.direction', direction);
    const start = now();
    if (CHANNELS.start.hasSubscribers) CHANNELS.start.publish({ direction, request: req });
    const labels = (status: number, grpc: string, error: string) => ({
      direction,
      // The matched virtual host (translate names it `<svc>.<ns>:<port>`), never the raw Host
      // header: a caller must not be able to mint label values (unbounded cardinality).
      authority: fact(req, 'weft.vhost') ?? '-',
      route: fact(req, 'weft.routeName') ?? '',
      status_code: String(status),
      grpc_status: grpc,
      error,
      ...peers(),
    });
    const peers = () => {
      const dest = direction === 'outbound' ? destinationOf(fact(req, 'weft.cluster')) : self;
      return { source_service: source.service, source_version: source.version, destination_service: dest.service, destination_version: dest.version };
    };
    const record = (l: ReturnType<typeof labels>) => {
      m.requests.inc(l);
      m.latency.observe(l, (now() - start) / 1000);
    };
    let res;
    try {
      res = await next(req);
    } catch (err) {
      // Classified exactly as rescue will render it (non-Error throws are internal errors).
      const e: ProxyError = err instanceof Error ? toProxyError(err) : new InternalProxyError(String(err));
      record(labels(req.grpc ? 200 : e.status, req.grpc ? String(e.grpcStatus) : '', e.reason));
      if (CHANNELS.error.hasSubscribers) CHANNELS.error.publish({ direction, request: req, error: e });
      throw err;
    }
    const reason = first(res.headers[WEFT_ERROR_HEADER])?.split(' ')[0] ?? '';
    const grpcStatus = first(res.headers['grpc-status']) ?? '';
    onBodyDone(res, (bodyErr) => {
      record(labels(res.status, grpcStatus, bodyErr ? reason || 'body_error' : reason));
      if (bodyErr && CHANNELS.error.hasSubscribers) CHANNELS.error.publish({ direction, request: req, error: bodyErr });
      if (CHANNELS.end.hasSubscribers) CHANNELS.end.publish({ direction, request: req, response: res, durationMs: now() - start });
    });
    return res;
  };
}

