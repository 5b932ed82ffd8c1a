/**
 * The proxy's typed, immutable config (linkerd2-proxy `client-policy`): what the layers read. It is
 * built once per xDS update by `parse.ts`; no layer ever sees raw xDS objects.
 */
import type { ResolvedAuthz } from '../../api/xds/metadata';

/** How a string is compared (path, header value, query value). Regexes are anchored (RE2 full match). */
export type StringMatcher =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly regex: RegExp };

/** A header (or `:method`) condition; `invert` flips the result (gRFC A28). */
export interface HeaderMatcher {
  readonly name: string;
  /** `present` only checks existence; otherwise `matcher` runs on the values joined by ','. */
  readonly present?: boolean;
  readonly matcher?: StringMatcher;
  readonly range?: { readonly start: number; readonly end: number };
  readonly invert: boolean;
}

/** A query parameter condition. */
export interface QueryMatcher {
  readonly name: string;
  readonly present?: boolean;
  readonly matcher?: StringMatcher;
  /** Flips the result (carried in weft metadata `invertQuery`; Envoy's matcher has no invert). */
  readonly invert: boolean;
}

/** Everything a request must satisfy for a route to match. */
export interface RouteMatch {
  /** Path (without query) condition; `prefix ''` matches everything. */
  readonly path: { readonly kind: 'prefix' | 'exact'; readonly value: string; readonly caseSensitive: boolean } | { readonly kind: 'regex'; readonly regex: RegExp };
  readonly headers: readonly HeaderMatcher[];
  readonly query: readonly QueryMatcher[];
  /** Percent of matching requests the route takes (runtime_fraction); 100 when absent. */
  readonly fractionPercent: number;
  /** Only gRPC requests match (`grpc: {}`). */
  readonly grpcOnly: boolean;
}

/** Header edits (Envoy `*_headers_to_add` / `*_headers_to_remove`). */
export interface HeaderMutation {
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
  readonly addIfAbsent: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

/** Retry policy (gRFC A44, Envoy RetryPolicy). */
export interface RetryPolicy {
  /** Conditions: `5xx`, `gateway-error`, `reset`, `connect-failure`, `retriable-4xx`, `retriable-status-codes`, gRPC names. */
  readonly on: ReadonlySet<string>;
  /** Retries after the first try; capped at 4 (A44: at most 5 attempts). @default 1 */
  readonly numRetries: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** Per-try deadline; none when undefined. */
  readonly perTryTimeoutMs?: number;
  /** @default 25 */
  readonly backoffBaseMs: number;
  /** @default 10 × base */
  readonly backoffMaxMs: number;
}

/** Fault injection (Envoy HTTPFault), evaluated per try below the retry layer. */
export interface FaultPolicy {
  readonly delay?: { readonly ms: number; readonly percent: number };
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent: number };
}

/** One way to derive the consistent-hash key (Envoy RouteAction.HashPolicy). */
export type HashPolicy =
  | { readonly kind: 'header'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'cookie'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'query'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'source-ip'; readonly terminal: boolean };

/** Forward to one of several clusters. */
export interface ForwardAction {
  readonly kind: 'forward';
  /** Weighted clusters (one entry of weight 1 for a plain `cluster`). */
  readonly clusters: readonly { readonly name: string; readonly weight: number }[];
  readonly totalWeight: number;
  /** Route timeout (Envoy `timeout`); 0 or undefined = none. */
  readonly timeoutMs?: number;
  /** gRFC A31 `max_stream_duration`. */
  readonly maxStreamDurationMs?: number;
  /** gRFC A31 `grpc_timeout_header_max`: when set, the grpc-timeout header counts (0 = no cap). */
  readonly grpcTimeoutHeaderMaxMs?: number;
  readonly retry?: RetryPolicy;
  readonly hashPolicy: readonly HashPolicy[];
  readonly mirrors: readonly { readonly cluster: string; readonly percent: number }[];
  /** Replace the path prefix that matched (Envoy `prefix_rewrite`). */
  readonly prefixRewrite?: string;
  /** Replace the authority sent upstream (Envoy `host_rewrite_literal`). */
  readonly hostRewrite?: string;
}

/** Answer with a redirect. */
export interface RedirectAction {
  readonly kind: 'redirect';
  readonly scheme?: string;
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
  readonly prefixRewrite?: string;
  readonly stripQuery: boolean;
  /** 301, 302, 303, 307 or 308. @default 301 */
  readonly status: number;
}

/** Answer directly from config. */
export interface DirectResponseAction {
  readonly kind: 'direct';
  readonly status: number;
  readonly body?: string;
}

/** One route of a virtual host, in evaluation order. */
export interface Route {
  /** Route name for metrics and `weft-error` (`reviews-canary/default`); index-based when unnamed. */
  readonly name: string;
  readonly match: RouteMatch;
  readonly action: ForwardAction | RedirectAction | DirectResponseAction;
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
  readonly fault?: FaultPolicy;
  /** Local rate limit of this route, if any. */
  readonly rateLimit?: TokenBucketConfig;
}

/** A domain pattern of a virtual host (gRFC A28 matching). */
export interface DomainPattern {
  readonly kind: 'exact' | 'suffix' | 'prefix' | 'any';
  /** Lower-case; for `suffix` the part after `*`, for `prefix` the part before `*`. */
  readonly value: string;
}

export interface VirtualHost {
  readonly name: string;
  readonly domains: readonly DomainPattern[];
  readonly routes: readonly Route[];
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
}

/** A RouteConfiguration. */
export interface RouteTable {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
}

/** Token bucket of the local rate limiter. */
export interface TokenBucketConfig {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

/** One filter chain of a listener: HTTP (with a route table) or opaque TCP. */
export interface FilterChainConfig {
  readonly name: string;
  /** `filter_chain_match.destination_port`: the app port this chain serves (inbound). */
  readonly destinationPort?: number;
  /** The service port this (inbound) chain serves (weft chain metadata `servicePort`); picks the chain for a `weft-port` request and is the port authz sees. */
  readonly servicePort?: number;
  /** mTLS mode of this (inbound) chain's service port (weft chain metadata `mtlsMode`). */
  readonly mtlsMode?: 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  /** RDS name or inline route table name; '' for a TCP chain. */
  readonly routeTable: string;
  readonly tcp: boolean;
  /**
   * Where a TCP chain's connections go: the `tcp_proxy` `cluster` (one entry of weight 1) or its
   * `weighted_clusters`; empty for HTTP chains. @default - none (HTTP chain, or a tcp_proxy without a target)
   */
  readonly tcpClusters?: readonly { readonly name: string; readonly weight: number }[];
  /** A31 default `max_stream_duration` from the HCM. */
  readonly maxStreamDurationMs?: number;
  /** Local rate limit from the HCM's local_ratelimit filter. */
  readonly rateLimit?: TokenBucketConfig;
}

/** A Listener, reduced to what the stacks need. */
export interface ListenerConfig {
  readonly name: string;
  /** From `traffic_direction`, else weft metadata `direction`. */
  readonly direction: 'inbound' | 'outbound' | 'unspecified';
  readonly address?: string;
  readonly port?: number;
  /** Route table of the first HTTP chain ('' when the listener is TCP only). */
  readonly routeTable: string;
  readonly chains: readonly FilterChainConfig[];
  /** Listener-wide local rate limit (HCM filter, or weft metadata `rateLimit`). */
  readonly rateLimit?: TokenBucketConfig;
  /** A31 default `max_stream_duration` from the first HCM. */
  readonly maxStreamDurationMs?: number;
  /**
   * The listener's authorization data (weft metadata `authz`, checked against its schema in
   * api/xds/metadata.ts), frozen: the evaluator in api/authz.ts interprets it.
   */
  readonly authz?: ResolvedAuthz;
  /** The workload identity this (inbound) listener serves (weft metadata `identity`). */
  readonly identity?: string;
  /** The service port an outbound (TCP) listener stands for (weft metadata `servicePort`). @default - none */
  readonly servicePort?: number;
}

/** gRFC A50 / Envoy outlier detection, with Envoy's defaults resolved. */
export interface OutlierDetectionConfig {
  /** @default 10000 */
  readonly intervalMs: number;
  /** @default 30000 */
  readonly baseEjectionTimeMs: number;
  /** @default 300000 */
  readonly maxEjectionTimeMs: number;
  /** @default 10 */
  readonly maxEjectionPercent: number;
  /** Consecutive 5xx (and errors) that eject; undefined = off. @default 5 */
  readonly consecutive5xx?: number;
  /** Consecutive 502/503/504 or connection failures that eject; undefined = off. */
  readonly consecutiveGatewayErrors?: number;
  /** Success-rate ejection (mean − stdevFactor × stdev); undefined = off. */
  readonly successRate?: { readonly minimumHosts: number; readonly requestVolume: number; readonly stdevFactor: number; readonly enforcingPercent: number };
  /**
   * Failure-percentage ejection (gRFC A50 `failure_percentage_ejection`): an endpoint with at least
   * `requestVolume` calls whose failure percentage exceeds `threshold` is ejected at the interval,
   * when at least `minimumHosts` endpoints have that volume; undefined = off (Envoy's
   * `enforcing_failure_percentage` defaults to 0). @default - off
   */
  readonly failurePercentage?: { readonly threshold: number; readonly minimumHosts: number; readonly requestVolume: number; readonly enforcingPercent: number };
}

/** Envoy circuit-breaker thresholds of the DEFAULT priority. */
export interface CircuitBreakers {
  /** @default 1024 */
  readonly maxConnections: number;
  /** @default 1024 */
  readonly maxPendingRequests: number;
  /** @default 1024 */
  readonly maxRequests: number;
  /**
   * Connections to any one endpoint (Envoy `per_host_thresholds.max_connections`): HTTP/1.1 requests
   * beyond it wait in the cluster's pending queue (`maxPendingRequests`), then are shed (503 overflow).
   * The parser always sets it. @default 256 (DEFAULT_MAX_CONNECTIONS_PER_HOST)
   */
  readonly maxConnectionsPerHost?: number;
}

/** Retry budget (linkerd2-proxy defaults). */
export interface RetryBudgetConfig {
  /** @default 0.2 */
  readonly retryRatio: number;
  /** @default 10 */
  readonly minRetriesPerSecond: number;
  /** @default 10000 */
  readonly ttlMs: number;
}

export type LbPolicyName = 'peak-ewma' | 'round-robin' | 'least-request' | 'ring-hash';

export interface ClusterConfig {
  readonly name: string;
  /** Name of its ClusterLoadAssignment (`eds_cluster_config.service_name`, else the cluster name). */
  readonly edsName: string;
  readonly lbPolicy: LbPolicyName;
  /** Ring size for ring-hash. @default 1024 */
  readonly ringSize: number;
  readonly protocol: 'http1' | 'http2';
  /** mTLS to the endpoints; `expectedIdentity` is the SPIFFE ID their certificate must carry. */
  readonly tls?: { readonly expectedIdentity?: string };
  readonly circuitBreakers: CircuitBreakers;
  readonly outlierDetection?: OutlierDetectionConfig;
  readonly retryBudget: RetryBudgetConfig;
  /** Peak-EWMA decay. @default 10000 */
  readonly ewmaDecayMs: number;
  readonly rateLimit?: TokenBucketConfig;
  /** Static endpoints (STATIC clusters carry their own load_assignment). */
  readonly staticEndpoints?: readonly EndpointConfig[];
}

export interface EndpointConfig {
  readonly address: string;
  readonly port: number;
  /** @default 1 */
  readonly weight: number;
  /** False for UNHEALTHY / DRAINING / TIMEOUT endpoints: never picked. */
  readonly healthy: boolean;
  /** SPIFFE ID this endpoint must present, overriding the cluster's. */
  readonly identity?: string;
  /** False for an endpoint without a weft sidecar (proxyless or plain): no mTLS to it. @default true */
  readonly meshed: boolean;
}

/** A ClusterLoadAssignment. */
export interface EndpointSet {
  readonly name: string;
  readonly endpoints: readonly EndpointConfig[];
}

/** The whole immutable config one request is served with. */
export interface ProxyConfig {
  readonly version: string;
  readonly listeners: ReadonlyMap<string, ListenerConfig>;
  readonly routes: ReadonlyMap<string, RouteTable>;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly endpoints: ReadonlyMap<string, EndpointSet>;
  /** Names in `routes` that came inline in a listener's HCM rather than from RDS. */
  readonly inlineRouteNames: ReadonlySet<string>;
}
