/**
 * The mesh model: the resolved, normalized view of a mesh that `translate()` turns into xDS. Both
 * sources (Kubernetes, local files) produce it; durations are milliseconds, references are resolved.
 */
import type { LbPolicy, MtlsModeName, Protocol, RetryOn } from './resources';

/** Mesh-wide settings (from the MeshConfig). */
export interface MeshSettings {
  readonly name: string;
  readonly trustDomain: string;
  readonly defaultMtlsMode: MtlsModeName;
  readonly defaultInboundPolicy: 'allow' | 'deny';
  readonly certificateTtlMs: number;
  /**
   * The mesh's root namespace (the control plane's). An MtlsPolicy there without a namespace or
   * service scope applies to every service, as Istio's root-namespace policies do.
   */
  readonly rootNamespace?: string;
  /** Most requests one request may become along a call path (call-graph check); 10 when undefined. */
  readonly maxRetryAmplification?: number;
}

export interface PortModel {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: Protocol;
}

export interface RetryModel {
  readonly attempts: number;
  readonly on: readonly RetryOn[];
  readonly perTryTimeoutMs?: number;
  readonly retriableStatusCodes: readonly number[];
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** The app declared every method idempotent, so POST/PATCH may be retried (call-graph check only). */
  readonly idempotent?: boolean;
}

export interface OutlierDetectionModel {
  readonly consecutive5xx?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly successRate?: { readonly minimumHosts: number; readonly requestVolume: number; readonly stdevFactor: number };
}

export interface TrafficPolicyModel {
  readonly loadBalancer: { readonly policy: LbPolicy; readonly hashHeader?: string; readonly hashCookie?: string };
  readonly retries?: RetryModel;
  readonly timeoutMs?: number;
  readonly outlierDetection?: OutlierDetectionModel;
  readonly connectionLimits: { readonly maxConnections?: number; readonly maxPendingRequests?: number; readonly maxRequests?: number; readonly maxRequestsPerConnection?: number };
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number };
}

export interface StringMatchModel {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

export interface HeaderMatchModel {
  readonly name: string;
  readonly exact?: string;
  readonly regex?: string;
  readonly present?: boolean;
  readonly invert: boolean;
}

export interface MatchModel {
  readonly path?: StringMatchModel;
  readonly headers: readonly HeaderMatchModel[];
  readonly query: readonly HeaderMatchModel[];
  readonly method?: string;
}

export interface HeaderModifierModel {
  readonly set: Readonly<Record<string, string>>;
  readonly add: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

/** One route of a service, in evaluation order. `backends` weights sum to 100 unless the route redirects or responds directly. */
export interface RouteModel {
  readonly name: string;
  /** The CanaryRoute it came from, or undefined for the default route. */
  readonly source?: string;
  /** Port name it applies to; every HTTP port when undefined. */
  readonly port?: string;
  /** Any one matches (OR). Empty means every request. */
  readonly matches: readonly MatchModel[];
  readonly backends: readonly { readonly version: string; readonly weight: number }[];
  readonly timeoutMs?: number;
  readonly retries?: RetryModel;
  readonly requestHeaders?: HeaderModifierModel;
  readonly responseHeaders?: HeaderModifierModel;
  readonly fault?: {
    readonly delay?: { readonly fixedMs: number; readonly percent: number };
    readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent: number };
  };
  readonly mirror?: { readonly version: string; readonly percent: number };
  readonly redirect?: { readonly scheme?: string; readonly host?: string; readonly path?: string; readonly port?: number; readonly status: number };
  readonly directResponse?: { readonly status: number; readonly body?: string };
}

export interface ServiceModel {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** SPIFFE ID every endpoint of this service presents. */
  readonly identity: string;
  readonly ports: readonly PortModel[];
  /** `calls` of a version: what only that version calls (its service's `calls` hold them too). */
  readonly versions: readonly { readonly name: string; readonly replicas: number; readonly calls?: readonly { readonly name: string; readonly namespace: string }[] }[];
  /** Every service this one calls: the service's own `calls` plus each version's. */
  readonly calls: readonly { readonly name: string; readonly namespace: string }[];
  /** False for a workload without a sidecar (annotation `weft.dev/meshed: "false"`); true when undefined. */
  readonly meshed?: boolean;
  /** Receives traffic from outside the mesh (an entry of the call graph). */
  readonly ingress?: boolean;
  readonly trafficPolicy: TrafficPolicyModel;
  /** Routes in evaluation order; the last one always matches everything. */
  readonly routes: readonly RouteModel[];
  /** Effective mTLS mode per port number (policy scope resolved: port > service > namespace > mesh). */
  readonly mtlsModes: Readonly<Record<number, MtlsModeName>>;
}

/** One ready (or draining) instance of a service version. */
export interface EndpointModel {
  readonly service: string;
  readonly namespace: string;
  readonly version: string;
  /** IP literal (grpc-js-xds rejects host names). */
  readonly address: string;
  /** Inbound port of the endpoint's sidecar, keyed by service port name; for proxyless endpoints the app port. */
  readonly ports: Readonly<Record<string, number>>;
  readonly ready: boolean;
  /** Who this endpoint is (node id of its proxy, or pod name). */
  readonly instance: string;
  /** Whether a weft sidecar fronts it (then it speaks mTLS) or it is a proxyless/plain endpoint. */
  readonly meshed: boolean;
}

export interface PolicyPeerModel {
  readonly principals: readonly string[];
  readonly namespaces: readonly string[];
}

export interface PolicyRuleModel {
  /** `<namespace>/<policy>#<rule>` — named in the `weft-error` header and logs on denial. */
  readonly id: string;
  readonly action: 'ALLOW' | 'DENY' | 'AUDIT';
  /** Any one source matches (OR); empty = any source. Within a source, every non-empty field must match. */
  readonly from: readonly PolicyPeerModel[];
  /** Any one operation matches (OR); empty = any operation. */
  readonly to: readonly { readonly paths: readonly string[]; readonly methods: readonly string[]; readonly ports: readonly number[] }[];
}

/** Authorization rules that apply to one destination service. */
export interface PolicyModel {
  readonly service: string;
  readonly namespace: string;
  readonly rules: readonly PolicyRuleModel[];
}

/** The whole mesh, as `translate()` reads it. */
export interface MeshModel {
  readonly mesh: MeshSettings;
  readonly services: readonly ServiceModel[];
  readonly endpoints: readonly EndpointModel[];
  readonly policies: readonly PolicyModel[];
}
