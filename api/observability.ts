/**
 * Observability settings as the MeshConfig and MeshService custom resources carry them, and how they
 * resolve into a sidecar's bootstrap (`tracing`, `accessLog`): a service's setting overrides the mesh's.
 */
import { s } from './schema';
import type { Bootstrap } from './bootstrap';

/** OTLP/HTTP encodings (the values of OTEL_EXPORTER_OTLP_PROTOCOL). */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const observabilitySchema = s.object({
  tracing: s.optional(s.object({
    sampleRate: s.optional(s.number({ minimum: 0, maximum: 1, description: 'Probability a new trace is sampled (an incoming sampled flag is honoured).' })),
    otlpEndpoint: s.optional(s.string({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, patternName: 'an http(s) URL', description: 'OTLP/HTTP base URL (spans go to <url>/v1/traces).' })),
    protocol: s.optional(s.enumOf(OTLP_PROTOCOLS, 'OTLP/HTTP encoding.')),
  })),
  accessLogs: s.optional(s.boolean('JSON access log lines on the sidecar\'s stdout.')),
});

/** Observability settings of the mesh or of one service. */
export interface ObservabilitySpec {
  readonly tracing?: { readonly sampleRate?: number; readonly otlpEndpoint?: string; readonly protocol?: OtlpProtocol };
  readonly accessLogs?: boolean;
}

/** Sample rate when tracing is on and no rate is given (Istio's default is 1%). */
export const DEFAULT_SAMPLE_RATE = 0.01;

/** The service's settings over the mesh's, field by field. */
export function mergeObservability(...layers: readonly (ObservabilitySpec | undefined)[]): ObservabilitySpec {
  let tracing: ObservabilitySpec['tracing'];
  let accessLogs: boolean | undefined;
  for (const l of layers) {
    if (!l) continue;
    if (l.tracing) tracing = { ...tracing, ...l.tracing };
    if (l.accessLogs !== undefined) accessLogs = l.accessLogs;
  }
  return { ...(tracing ? { tracing } : {}), ...(accessLogs !== undefined ? { accessLogs } : {}) };
}

/** The bootstrap fields of resolved settings: absent fields mean off. */
export function bootstrapObservability(o: ObservabilitySpec): Pick<Bootstrap, 'tracing' | 'accessLog'> {
  return {
    ...(o.tracing ? { tracing: {
      sampleRate: o.tracing.sampleRate ?? DEFAULT_SAMPLE_RATE,
      ...(o.tracing.otlpEndpoint ? { otlpEndpoint: o.tracing.otlpEndpoint } : {}),
      ...(o.tracing.protocol ? { protocol: o.tracing.protocol } : {}),
    } } : {}),
    ...(o.accessLogs ? { accessLog: true } : {}),
  };
}

/** Why `value` is not a usable OTLP/HTTP endpoint (absolute http(s) URL, no credentials, query or fragment), or undefined. */
export function otlpEndpointProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a URL string';
  if (/\s/.test(value)) return 'contains whitespace';
  let url: URL;
  try { url = new URL(value); } catch { return 'is not a URL'; }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be http or https (OTLP/HTTP), not ${url.protocol.replace(':', '')}`;
  if (!url.hostname) return 'has no host';
  if (url.username || url.password) return 'must not carry credentials (they would be written into a ConfigMap)';
  if (url.search || url.hash) return 'must not have a query or fragment';
  return undefined;
}
