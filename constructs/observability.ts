/**
 * The `observability` prop of Mesh and MeshService: tracing (OTLP/HTTP) and JSON access logs,
 * checked at synth with coded errors and rendered into every sidecar's bootstrap.
 */
import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { OTLP_PROTOCOLS, otlpEndpointProblem, type ObservabilitySpec, type OtlpProtocol } from '../api/observability';
import { WeftValidationError } from './errors';

/** Distributed tracing: W3C `traceparent` propagation and span export over OTLP/HTTP. */
export interface TracingOptions {
  /**
   * Probability (0..1) that a request starting a new trace is sampled; an incoming sampled flag is
   * always honoured, so one sampled trace stays whole across services.
   * @default 0.01 (as Istio)
   */
  readonly sampleRate?: number;
  /**
   * Base URL of an OTLP/HTTP receiver (an OpenTelemetry Collector, Jaeger, Tempo); spans go to
   * `<url>/v1/traces` unless the URL already ends so.
   * @default - no export: trace context is still propagated and access logs carry the trace id
   */
  readonly otlpEndpoint?: string;
  /**
   * Encoding the receiver expects (`Content-Type: application/x-protobuf` or `application/json`).
   * @default 'http/protobuf' (the OTLP default)
   */
  readonly protocol?: OtlpProtocol;
}

/** What the sidecars record besides metrics (which are always on). */
export interface ObservabilityOptions {
  /**
   * Tracing. On a MeshService it overrides the mesh's field by field.
   * @default - off
   */
  readonly tracing?: TracingOptions;
  /**
   * One JSON line per request on the sidecar's stdout (method, authority, path, status, duration,
   * trace id, route, upstream).
   * @default false
   */
  readonly accessLogs?: boolean;
  /**
   * Mesh only: also emit a Prometheus Operator `PodMonitor` (monitoring.coreos.com/v1) in the
   * mesh's namespace that scrapes every sidecar's `weft-admin` port, in every namespace. The
   * `prometheus.io/*` pod annotations are always written.
   * @default false
   */
  readonly podMonitor?: boolean;
}

/** Annotations of every meshed pod: the admin port's `/metrics`, as annotation-based scrape configs expect. */
export function scrapeAnnotations(adminPort: number): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(adminPort), 'prometheus.io/path': '/metrics' };
}

/** The PodMonitor of every sidecar: pods with `app` and `version` labels and a `weft-admin` port. */
export function podMonitor(scope: Construct, namespace: string, interval = '15s'): ApiObject {
  return new ApiObject(scope, 'PodMonitor', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: 'weft-proxies', namespace, labels: { 'app.kubernetes.io/part-of': 'weft' } },
    spec: {
      namespaceSelector: { any: true },
      // unmeshed pods carry the labels too but have no weft-admin port, so they yield no target
      selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }, { key: 'version', operator: 'Exists' }] },
      podMetricsEndpoints: [{ port: 'weft-admin', path: '/metrics', interval }],
    },
  });
}

/** Checks `value` (the prop `prop` of `scope`) and returns it as the custom resources carry it. */
export function checkObservability(scope: IConstruct, prop: string, value: ObservabilityOptions | undefined): ObservabilitySpec | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} must be an object`, scope, { prop, value, fix: 'pass { tracing: { sampleRate, otlpEndpoint }, accessLogs: true }' });
  }
  if (value.podMonitor !== undefined && typeof value.podMonitor !== 'boolean') {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.podMonitor must be a boolean`, scope, { prop: `${prop}.podMonitor`, value: value.podMonitor });
  }
  if (value.accessLogs !== undefined && typeof value.accessLogs !== 'boolean') {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.accessLogs must be a boolean`, scope, { prop: `${prop}.accessLogs`, value: value.accessLogs });
  }
  const t = value.tracing;
  if (t !== undefined) {
    if (typeof t !== 'object' || t === null) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.tracing must be an object`, scope, { prop: `${prop}.tracing`, value: t });
    if (t.sampleRate !== undefined && (typeof t.sampleRate !== 'number' || !Number.isFinite(t.sampleRate) || t.sampleRate < 0 || t.sampleRate > 1)) {
      throw new WeftValidationError('WEFT_ERR_INVALID_SAMPLE_RATE', `${prop}.tracing.sampleRate must be a probability in 0..1`, scope, {
        prop: `${prop}.tracing.sampleRate`, value: t.sampleRate, fix: 'use e.g. 0.01 for 1% of new traces, 1 for all',
      });
    }
    if (t.otlpEndpoint !== undefined) checkOtlpEndpoint(scope, `${prop}.tracing.otlpEndpoint`, t.otlpEndpoint);
    if (t.protocol !== undefined && !OTLP_PROTOCOLS.includes(t.protocol)) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.tracing.protocol must be one of ${OTLP_PROTOCOLS.join(', ')}`, scope, { prop: `${prop}.tracing.protocol`, value: t.protocol });
    }
  }
  if (t === undefined && value.accessLogs === undefined) return undefined;
  return {
    ...(t ? { tracing: { ...(t.sampleRate !== undefined ? { sampleRate: t.sampleRate } : {}), ...(t.otlpEndpoint ? { otlpEndpoint: t.otlpEndpoint } : {}), ...(t.protocol ? { protocol: t.protocol } : {}) } } : {}),
    ...(value.accessLogs !== undefined ? { accessLogs: value.accessLogs } : {}),
  };
}

/** An OTLP/HTTP endpoint: an absolute http(s) URL without credentials, query or fragment. */
export function checkOtlpEndpoint(scope: IConstruct, prop: string, value: unknown): string {
  const problem = otlpEndpointProblem(value);
  if (problem) {
    throw new WeftValidationError('WEFT_ERR_INVALID_OTLP_ENDPOINT', `${prop} ${problem}`, scope, { prop, value, fix: 'use the OTLP/HTTP base URL of the collector, e.g. "http://otel-collector.observability:4318"' });
  }
  return value as string;
}
