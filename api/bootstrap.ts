/**
 * The proxy bootstrap: what a sidecar knows before it talks to the control plane. The constructs
 * write it into a ConfigMap, `weft up` writes it to a file; the proxy parses it once at start.
 */
import { DNS1123_LABEL } from './names';
import { Infer, check, s } from './schema';
import { INTERCEPTION_MODES } from './resources';
import { DURATION_PATTERN } from './duration';

/** Ports the sidecar reserves in every pod; an app port may not use them. */
export const RESERVED_PORTS = { inbound: 15006, outbound: 15001, admin: 15020 } as const;

/** Port a plaintext-permitted legacy caller uses is the service port itself; these are the proxy's own. */
export const RESERVED_PORT_LIST: readonly number[] = Object.values(RESERVED_PORTS);

export const bootstrapSchema = s.object({
  node: s.object({
    id: s.string({ minLength: 1, description: 'Unique proxy id (pod name, or service-version-index locally).' }),
    service: s.string({ pattern: DNS1123_LABEL, patternName: 'a DNS-1123 label' }),
    namespace: s.string({ pattern: DNS1123_LABEL, patternName: 'a DNS-1123 label' }),
    version: s.string({ pattern: DNS1123_LABEL, patternName: 'a DNS-1123 label' }),
    serviceAccount: s.string({ pattern: DNS1123_LABEL, patternName: 'a DNS-1123 label' }),
  }),
  controlPlane: s.optional(s.object({
    /** host:port of the ADS server. */
    xds: s.string({ minLength: 1 }),
    /** host:port of the CA; the xds address when omitted. */
    ca: s.optional(s.string({ minLength: 1 })),
    /** Dial xDS in plaintext even though a trust anchor is set (a control plane run with --xds-insecure; tests). Default: TLS whenever identity.caTrustAnchorFile/Pem is set, verified against that anchor. */
    xdsPlaintext: s.optional(s.boolean()),
    /** SPIFFE ID the xDS server's certificate must carry. Default: spiffe://<identity.trustDomain>/ns/<any>/sa/weft-control-plane. */
    xdsIdentity: s.optional(s.string({ minLength: 1 })),
  })),
  ports: s.object({
    inbound: s.integer({ minimum: 0, maximum: 65535 }),
    outbound: s.integer({ minimum: 0, maximum: 65535 }),
    admin: s.integer({ minimum: 0, maximum: 65535 }),
    /** The app's ports on localhost, by service port name. */
    app: s.record(s.integer({ minimum: 1, maximum: 65535 })),
  }),
  bindAddress: s.optional(s.string({ description: 'Address the listeners bind to; 127.0.0.1 for outbound/admin, 0.0.0.0 for inbound when omitted.' })),
  adminBindAddress: s.optional(s.string({ description: 'Address the admin listener binds to (e.g. 0.0.0.0 so the kubelet can probe /ready and /live on the pod IP); bindAddress, else 127.0.0.1, when omitted. On a non-loopback address only loopback peers may use /config_dump and /shutdown.' })),
  interception: s.enumOf(INTERCEPTION_MODES),
  identity: s.object({
    trustDomain: s.string({ minLength: 1 }),
    /** File holding the credential sent with the CSR (projected SA token or one-time bootstrap token). */
    tokenPath: s.optional(s.string()),
    /** Whether the proxy must hold a certificate before it reports ready. */
    required: s.boolean(),
    /** Directory of a static certificate (cert.pem, key.pem, ca.pem) used instead of the CA, for tests and `static` setups. */
    staticDir: s.optional(s.string()),
    /** PEM file of the root(s) the CA endpoint's certificate must chain to (TLS to the CA before the first certificate); re-read on every request. Without it (and without caTrustAnchorPem) the CA is dialed in plaintext. */
    caTrustAnchorFile: s.optional(s.string({ minLength: 1 })),
    /** The same root(s) inline, PEM. */
    caTrustAnchorPem: s.optional(s.string({ minLength: 1 })),
    /** Renew by presenting the current certificate to the CA (mTLS) instead of a credential, so a one-time bootstrap token buys only the first certificate (`weft up`). Needs a trust anchor. */
    renewWithCertificate: s.optional(s.boolean()),
  }),
  /** xDS resources in their JSON (proto3 canonical) form, applied before (or instead of) the control plane. */
  staticResources: s.optional(s.object({
    listeners: s.optional(s.array(s.record(s.any()))),
    routes: s.optional(s.array(s.record(s.any()))),
    clusters: s.optional(s.array(s.record(s.any()))),
    endpoints: s.optional(s.array(s.record(s.any()))),
  })),
  /**
   * Listener hardening for the inbound and outbound HTTP listeners, named after Envoy's
   * HttpConnectionManager options; every field defaults to proxy/http/limits.ts (docs/proxy.md).
   */
  http: s.optional(s.object({
    /** RFC 3986 dot-segment removal before routing and authz (Envoy normalize_path). */
    normalizePath: s.optional(s.boolean()),
    /** Merge `//` into `/` (Envoy merge_slashes). */
    mergeSlashes: s.optional(s.boolean()),
    /** `%2F` / `%5C` in a path (Envoy path_with_escaped_slashes_action: KEEP_UNCHANGED, REJECT_REQUEST, UNESCAPE_AND_FORWARD). */
    escapedSlashes: s.optional(s.enumOf(['keep', 'reject', 'unescape'] as const)),
    /** A `\\` in a path: read as `/` (Envoy normalize_path, WHATWG), reject (400) or keep (unsafe). */
    backslash: s.optional(s.enumOf(['slash', 'reject', 'keep'] as const)),
    /** Header names with `_` (Envoy headers_with_underscores_action). */
    underscoreHeaders: s.optional(s.enumOf(['allow', 'drop', 'reject'] as const)),
    /** Request header bytes before 431 (Envoy max_request_headers_kb). */
    maxRequestHeadersKb: s.optional(s.integer({ minimum: 1, maximum: 8192 })),
    /** Request header fields before 431 (Envoy max_headers_count). */
    maxHeadersCount: s.optional(s.integer({ minimum: 1, maximum: 10000 })),
    /** Time to receive a request head (Envoy request_headers_timeout). */
    requestHeadersTimeout: s.optional(s.string({ pattern: DURATION_PATTERN, patternName: 'a duration like "10s"' })),
    /** A stream with no activity is reset (Envoy stream_idle_timeout). */
    streamIdleTimeout: s.optional(s.string({ pattern: DURATION_PATTERN, patternName: 'a duration like "5m"' })),
    /** A connection with no request in flight is closed, HTTP/1.1 and HTTP/2 (Envoy common_http_protocol_options.idle_timeout). */
    idleTimeout: s.optional(s.string({ pattern: DURATION_PATTERN, patternName: 'a duration like "1h"' })),
    /** Open connections per listener. */
    maxConnections: s.optional(s.integer({ minimum: 1 })),
    /** Open connections per listener from one source address, so one peer cannot take the listener. */
    maxConnectionsPerSource: s.optional(s.integer({ minimum: 1 })),
    /** `x-forwarded-client-cert` on inbound requests (Envoy forward_client_cert_details: SANITIZE_SET, SANITIZE). */
    forwardClientCert: s.optional(s.enumOf(['sanitize_set', 'sanitize'] as const)),
  })),
  drainTimeout: s.optional(s.string()),
  accessLog: s.optional(s.boolean()),
  tracing: s.optional(s.object({
    otlpEndpoint: s.optional(s.string()),
    sampleRate: s.number({ minimum: 0, maximum: 1 }),
    /** OTLP/HTTP encoding of exported spans. Default: http/protobuf (the OTLP default; collectors, Jaeger and Tempo accept both). */
    protocol: s.optional(s.enumOf(['http/protobuf', 'http/json'] as const)),
  })),
});

export type Bootstrap = Infer<typeof bootstrapSchema>;

/** Parses a bootstrap (already JSON-decoded); throws WEFT_ERR_INVALID_CONFIG listing every problem. */
export function parseBootstrap(value: unknown): Bootstrap {
  return check(bootstrapSchema, value, 'bootstrap');
}
