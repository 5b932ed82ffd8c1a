/**
 * The custom resources of group `weft.dev/v1alpha1`: MeshConfig, MeshService, CanaryRoute and
 * MtlsPolicy. Each spec is written once as a schema; its type, validator and CRD schema derive from it.
 */
import { CRD_LIMITS, CRD_RULES } from './crd-rules';
import { DURATION_PATTERN } from './duration';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from './names';
import { Infer, s } from './schema';
import { observabilitySchema } from './observability';

export const GROUP = 'weft.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

// --- shared pieces ---

const label = (description?: string) => s.string({ pattern: DNS1123_LABEL, patternName: 'a DNS-1123 label (lower-case letters, digits and "-", at most 63)', description });
const duration = (description?: string) => s.string({ pattern: DURATION_PATTERN, patternName: 'a duration such as "500ms" or "2s"', description });
const percent = (description?: string) => s.number({ minimum: 0, maximum: 100, description });

/** Protocols a port may declare. There is no sniffing: every port says what it speaks. */
export const PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'] as const;
/** Conditions a retry may fire on (Envoy/Istio `retryOn` names, gRPC codes in kebab-case). */
export const RETRY_ON = [
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
] as const;
export const LB_POLICIES = ['peak-ewma', 'round-robin', 'least-request', 'consistent-hash'] as const;
export const MTLS_MODES = ['STRICT', 'PERMISSIVE', 'DISABLE'] as const;
export const RULE_ACTIONS = ['ALLOW', 'DENY', 'AUDIT'] as const;
export const INTERCEPTION_MODES = ['iptables', 'explicit'] as const;

export const serviceRefSchema = s.object({
  name: label('Name of the MeshService.'),
  namespace: s.optional(label('Namespace of the MeshService; the referring resource\'s namespace when omitted.')),
});

export const retriesSchema = s.object({
  attempts: s.integer({ minimum: 1, maximum: 10, description: 'Retries after the first try (Istio `attempts`).' }),
  on: s.array(s.enumOf(RETRY_ON), { minItems: 1, description: 'Conditions that make a try retriable.' }),
  perTryTimeout: s.optional(duration('Deadline of each try.')),
  retriableStatusCodes: s.optional(s.array(s.integer({ minimum: 100, maximum: 599 }))),
  backoff: s.optional(s.cel(s.object({ base: duration('First backoff interval.'), max: duration('Backoff cap.') }), CRD_RULES.backoff)),
  idempotent: s.optional(s.boolean('The app makes every method idempotent, so POST and PATCH may be re-sent too (call-graph check).')),
});

export const loadBalancerSchema = s.cel(s.object({
  policy: s.enumOf(LB_POLICIES, 'Endpoint picker.'),
  hash: s.optional(s.cel(s.object({
    header: s.optional(s.string({ minLength: 1, description: 'Request header whose value keys the hash.' })),
    cookie: s.optional(s.string({ minLength: 1, description: 'Cookie whose value keys the hash.' })),
  }), CRD_RULES.hash)),
}), CRD_RULES.loadBalancer);

export const outlierDetectionSchema = s.object({
  consecutive5xx: s.optional(s.integer({ minimum: 1 })),
  consecutiveGatewayErrors: s.optional(s.integer({ minimum: 1 })),
  interval: s.optional(duration()),
  baseEjectionTime: s.optional(duration()),
  maxEjectionPercent: s.optional(percent()),
  successRate: s.optional(s.object({
    minimumHosts: s.integer({ minimum: 1 }),
    requestVolume: s.integer({ minimum: 1 }),
    stdevFactor: s.number({ minimum: 0 }),
  })),
});

export const connectionLimitsSchema = s.object({
  maxConnections: s.optional(s.integer({ minimum: 1 })),
  maxPendingRequests: s.optional(s.integer({ minimum: 0 })),
  maxRequests: s.optional(s.integer({ minimum: 1 })),
  maxRequestsPerConnection: s.optional(s.integer({ minimum: 1 })),
});

export const rateLimitSchema = s.object({
  requestsPerSecond: s.number({ minimum: 0 }),
  burst: s.optional(s.integer({ minimum: 1 })),
});

export const trafficPolicySchema = s.object({
  loadBalancer: s.optional(loadBalancerSchema),
  retries: s.optional(retriesSchema),
  timeout: s.optional(duration('Whole-request deadline, retries included.')),
  outlierDetection: s.optional(outlierDetectionSchema),
  connectionLimits: s.optional(connectionLimitsSchema),
  rateLimit: s.optional(rateLimitSchema),
});

export const conditionSchema = s.object({
  type: s.string(),
  status: s.enumOf(['True', 'False', 'Unknown'] as const),
  reason: s.string(),
  message: s.optional(s.string()),
  lastTransitionTime: s.optional(s.string()),
  observedGeneration: s.optional(s.integer()),
});

export const statusSchema = s.object({
  conditions: s.optional(s.array(conditionSchema)),
  lastAcceptedSpec: s.optional(s.string({ description: 'JSON of the last spec the control plane accepted; served while a newer one is rejected (written by the control plane only).' })),
  lastAcceptedGeneration: s.optional(s.integer({ description: 'metadata.generation of lastAcceptedSpec.' })),
});

// --- MeshConfig ---

export const meshConfigSpecSchema = s.object({
  trustDomain: s.string({ pattern: DNS1123_SUBDOMAIN, patternName: 'a DNS name such as "shop.local"', description: 'SPIFFE trust domain.' }),
  defaultMtlsMode: s.enumOf(MTLS_MODES, 'mTLS mode where no MtlsPolicy says otherwise.'),
  defaultInboundPolicy: s.enumOf(['allow', 'deny'] as const, 'What happens to a request no ALLOW policy covers when no ALLOW policy exists.'),
  proxyImage: s.string({ minLength: 1 }),
  controlPlaneImage: s.string({ minLength: 1 }),
  controlPlane: s.object({
    namespace: label(),
    service: label(),
    xdsPort: s.integer({ minimum: 1, maximum: 65535 }),
    caPort: s.integer({ minimum: 1, maximum: 65535 }),
  }),
  certificateTtl: duration('Lifetime of workload certificates.'),
  proxyResources: s.optional(s.object({
    cpuRequest: s.optional(s.string()),
    memoryRequest: s.optional(s.string()),
    cpuLimit: s.optional(s.string()),
    memoryLimit: s.optional(s.string()),
  })),
  maxRetryAmplification: s.optional(s.integer({ minimum: 1, description: 'Most requests one request may become along a call path (product of tries); the call-graph check rejects more. 10 when omitted.' })),
  observability: s.optional(observabilitySchema),
});

// --- MeshService ---

export const portSchema = s.cel(s.object({
  name: label('Port name, unique in the service.'),
  port: s.integer({ minimum: 1, maximum: 65535, description: 'Port the service exposes.' }),
  targetPort: s.optional(s.integer({ minimum: 1, maximum: 65535, description: 'Port the app listens on; `port` when omitted.' })),
  protocol: s.enumOf(PROTOCOLS, 'What the port speaks; decides HTTP routing vs opaque TCP.'),
}), CRD_RULES.port);

export const versionSchema = s.object({
  name: label('Version label value (`version`).'),
  replicas: s.integer({ minimum: 0 }),
  image: s.optional(s.string({ minLength: 1 })),
  local: s.optional(s.object({
    command: s.array(s.string(), { minItems: 1, description: 'argv of the app when run by `weft up`.' }),
    env: s.optional(s.record(s.string())),
    cwd: s.optional(s.string()),
  })),
  calls: s.optional(s.array(serviceRefSchema, { description: 'Dependencies of this version only, on top of the service\'s `calls`.' })),
});

export const meshServiceSpecSchema = s.object({
  serviceAccount: label('ServiceAccount, i.e. the workload identity.'),
  ports: s.cel(s.array(portSchema, { minItems: 1, maxItems: CRD_LIMITS.ports, mapKeys: ['name'] }), CRD_RULES.ports),
  versions: s.array(versionSchema, { minItems: 1, maxItems: CRD_LIMITS.versions, mapKeys: ['name'] }),
  interception: s.enumOf(INTERCEPTION_MODES, 'How app traffic reaches the sidecar.'),
  calls: s.optional(s.array(serviceRefSchema, { description: 'Declared dependencies.' })),
  trafficPolicy: s.optional(trafficPolicySchema),
  ingress: s.optional(s.boolean('Receives traffic from outside the mesh (a gateway, a load balancer, users): an entry of the call graph.')),
  observability: s.optional(observabilitySchema),
});

// --- CanaryRoute ---

export const stringMatchSchema = s.cel(s.object({
  exact: s.optional(s.string()),
  prefix: s.optional(s.string()),
  regex: s.optional(s.string()),
}), CRD_RULES.stringMatch);

export const headerMatchSchema = s.cel(s.object({
  name: s.string({ minLength: 1 }),
  exact: s.optional(s.string()),
  regex: s.optional(s.string()),
  present: s.optional(s.boolean()),
  invert: s.optional(s.boolean()),
}), CRD_RULES.headerMatch);

export const routeMatchSchema = s.object({
  path: s.optional(stringMatchSchema),
  headers: s.optional(s.array(headerMatchSchema, { maxItems: CRD_LIMITS.headers })),
  query: s.optional(s.array(headerMatchSchema, { maxItems: CRD_LIMITS.headers })),
  method: s.optional(s.string({ pattern: /^[A-Z]+$/, patternName: 'an upper-case HTTP method' })),
});

export const headerModifierSchema = s.object({
  set: s.optional(s.record(s.string())),
  add: s.optional(s.record(s.string())),
  remove: s.optional(s.array(s.string())),
});

export const routeRuleSchema = s.cel(s.object({
  name: s.optional(label()),
  match: s.optional(s.array(routeMatchSchema, { maxItems: CRD_LIMITS.matches, description: 'Any one match selects the rule; none means every request.' })),
  backends: s.optional(s.array(s.object({ version: label(), weight: s.integer({ minimum: 0, maximum: 100 }) }), { maxItems: CRD_LIMITS.backends })),
  timeout: s.optional(duration()),
  retries: s.optional(retriesSchema),
  requestHeaders: s.optional(headerModifierSchema),
  responseHeaders: s.optional(headerModifierSchema),
  fault: s.optional(s.object({
    delay: s.optional(s.object({ fixed: duration(), percent: percent() })),
    abort: s.optional(s.cel(s.object({ httpStatus: s.optional(s.integer({ minimum: 200, maximum: 599 })), grpcStatus: s.optional(s.integer({ minimum: 0, maximum: 16 })), percent: percent() }), CRD_RULES.abort)),
  })),
  mirror: s.optional(s.object({ version: label(), percent: percent() })),
  redirect: s.optional(s.object({
    scheme: s.optional(s.enumOf(['http', 'https'] as const)),
    host: s.optional(s.string()),
    path: s.optional(s.string()),
    port: s.optional(s.integer({ minimum: 1, maximum: 65535 })),
    status: s.optional(s.integer({ minimum: 301, maximum: 308 })),
  })),
  directResponse: s.optional(s.object({ status: s.integer({ minimum: 100, maximum: 599 }), body: s.optional(s.string()) })),
}), CRD_RULES.routeRule);

export const canaryRouteSpecSchema = s.object({
  service: serviceRefSchema,
  port: s.optional(label('Port name the routes apply to; every HTTP port when omitted.')),
  routes: s.array(routeRuleSchema, { minItems: 1, maxItems: CRD_LIMITS.routes }),
  steps: s.optional(s.array(s.object({
    weight: s.integer({ minimum: 0, maximum: 100, description: 'Canary weight at this step.' }),
    pause: s.optional(duration()),
    minSuccessRate: s.optional(percent()),
    maxP99: s.optional(duration()),
  }))),
});

// --- MtlsPolicy ---

export const policyRuleSchema = s.object({
  name: s.optional(label()),
  action: s.enumOf(RULE_ACTIONS),
  from: s.optional(s.array(s.object({
    principals: s.optional(s.array(s.string({ minLength: 1 }))),
    namespaces: s.optional(s.array(label())),
    services: s.optional(s.array(serviceRefSchema)),
    serviceAccounts: s.optional(s.array(s.string({ minLength: 1 }))),
  }))),
  to: s.optional(s.array(s.object({
    paths: s.optional(s.array(s.string({ minLength: 1 }))),
    methods: s.optional(s.array(s.string({ pattern: /^[A-Z]+$/, patternName: 'an upper-case HTTP method' }))),
    ports: s.optional(s.array(s.integer({ minimum: 1, maximum: 65535 }))),
  }))),
});

export const mtlsPolicySpecSchema = s.object({
  scope: s.optional(s.cel(s.object({
    namespace: s.optional(label()),
    service: s.optional(label()),
    port: s.optional(s.integer({ minimum: 1, maximum: 65535 })),
  }), CRD_RULES.scope)),
  mode: s.optional(s.enumOf(MTLS_MODES)),
  rules: s.optional(s.array(policyRuleSchema)),
});

// --- types ---

export type Protocol = (typeof PROTOCOLS)[number];
export type RetryOn = (typeof RETRY_ON)[number];
export type LbPolicy = (typeof LB_POLICIES)[number];
export type MtlsModeName = (typeof MTLS_MODES)[number];
export type ServiceRef = Infer<typeof serviceRefSchema>;
export type Retries = Infer<typeof retriesSchema>;
export type TrafficPolicy = Infer<typeof trafficPolicySchema>;
export type Condition = Infer<typeof conditionSchema>;
export type MeshConfigSpec = Infer<typeof meshConfigSpecSchema>;
export type MeshServiceSpec = Infer<typeof meshServiceSpecSchema>;
export type PortSpec = Infer<typeof portSchema>;
export type VersionSpec = Infer<typeof versionSchema>;
export type CanaryRouteSpec = Infer<typeof canaryRouteSpecSchema>;
export type RouteRule = Infer<typeof routeRuleSchema>;
export type RouteMatch = Infer<typeof routeMatchSchema>;
export type HeaderModifier = Infer<typeof headerModifierSchema>;
export type MtlsPolicySpec = Infer<typeof mtlsPolicySpecSchema>;
export type PolicyRule = Infer<typeof policyRuleSchema>;

/** Kind → spec schema: the table CRD generation and runtime validation both read. */
export const KINDS = {
  MeshConfig: { plural: 'meshconfigs', schema: meshConfigSpecSchema, scope: 'Cluster' },
  MeshService: { plural: 'meshservices', schema: meshServiceSpecSchema, scope: 'Namespaced' },
  CanaryRoute: { plural: 'canaryroutes', schema: canaryRouteSpecSchema, scope: 'Namespaced' },
  MtlsPolicy: { plural: 'mtlspolicies', schema: mtlsPolicySpecSchema, scope: 'Namespaced' },
} as const;

export type Kind = keyof typeof KINDS;

/** A weft custom resource as stored in Kubernetes or in `dist/*.yaml`. */
export interface WeftResource<S> {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: Kind;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly generation?: number; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string>; readonly resourceVersion?: string; readonly uid?: string };
  readonly spec: S;
  readonly status?: Infer<typeof statusSchema>;
}
