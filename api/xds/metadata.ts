/**
 * The typed contract for weft's own xDS metadata (`metadata.filter_metadata.weft`): one schema per
 * resource kind that translate() writes (typed by `Infer`) and the proxy's config parser validates,
 * NACKing a bad value with `WEFT_ERR_XDS_METADATA` like any other field.
 */
import type { PolicyRuleModel } from '../model';
import { LB_POLICIES, MTLS_MODES, PROTOCOLS } from '../resources';
import { s, type Infer, type Schema } from '../schema';

/** Code of a metadata problem; every problem line the proxy reports starts with it. */
export const XDS_METADATA_CODE = 'WEFT_ERR_XDS_METADATA';

const port = () => s.optional(s.integer({ minimum: 1, maximum: 65535 }));
const name = () => s.optional(s.string({ minLength: 1 }));
const protocol = () => s.optional(s.enumOf(PROTOCOLS));
const mtlsMode = () => s.optional(s.enumOf(MTLS_MODES));
const direction = () => s.optional(s.enumOf(['inbound', 'outbound'] as const));
/** Proxy-local rate limit: a token bucket of `burst` refilled at `requestsPerSecond`. */
const rateLimit = () => s.optional(s.object({ requestsPerSecond: s.number({ minimum: 0 }), burst: s.optional(s.integer({ minimum: 1 })) }));

const strings = () => s.optional(s.array(s.string()));

/** One authorization rule, as api/authz.ts evaluates it (`PolicyRuleModel`); an omitted list is empty. */
export const authzRuleMetadataSchema = s.object({
  id: s.string({ minLength: 1 }),
  action: s.enumOf(['ALLOW', 'DENY', 'AUDIT'] as const),
  from: s.optional(s.array(s.object({ principals: strings(), namespaces: strings() }))),
  to: s.optional(s.array(s.object({ paths: strings(), methods: strings(), ports: s.optional(s.array(s.integer({ minimum: 1, maximum: 65535 }))) }))),
});

/** The inbound listener's authorization data: the default for no policy, and the service's rules. */
export const authzMetadataSchema = s.object({
  defaultPolicy: s.optional(s.enumOf(['allow', 'deny'] as const)),
  rules: s.optional(s.array(authzRuleMetadataSchema)),
});

/** Listener metadata: direction, the served service and identity, authorization, rate limit. */
export const listenerMetadataSchema = s.object({
  direction: direction(),
  service: name(),
  namespace: name(),
  identity: name(),
  trustDomain: name(),
  port: name(),
  servicePort: port(),
  protocol: protocol(),
  authz: s.optional(authzMetadataSchema),
  rateLimit: rateLimit(),
});

/** Inbound filter-chain metadata: which service port the chain serves and its mTLS mode. */
export const filterChainMetadataSchema = s.object({
  port: name(),
  servicePort: port(),
  targetPort: port(),
  protocol: protocol(),
  mtlsMode: mtlsMode(),
});

/** Cluster metadata: what Envoy's Cluster has no field for (peak-EWMA, identity, mTLS mode). */
export const clusterMetadataSchema = s.object({
  direction: direction(),
  service: name(),
  namespace: name(),
  version: name(),
  port: name(),
  servicePort: port(),
  protocol: protocol(),
  lbPolicy: s.optional(s.enumOf([...LB_POLICIES, 'ring-hash'] as const)),
  identity: name(),
  mtlsMode: mtlsMode(),
  hashHeader: name(),
  hashCookie: name(),
  maxRequestsPerConnection: s.optional(s.integer({ minimum: 1 })),
  /** Peak-EWMA decay: a Duration (`{seconds, nanos}` or `"10s"`); the parser reads it as one. */
  ewmaDecay: s.optional(s.any()),
  rateLimit: rateLimit(),
});

/** Endpoint metadata: who the endpoint is and whether a weft sidecar fronts it. */
export const endpointMetadataSchema = s.object({
  instance: name(),
  meshed: s.optional(s.boolean()),
  version: name(),
  identity: name(),
});

/** Route metadata: the weft route name, its CanaryRoute, and what Envoy's RouteMatch lacks. */
export const routeMetadataSchema = s.object({
  route: s.string({ minLength: 1 }),
  source: name(),
  invertQuery: s.optional(s.array(s.string({ minLength: 1 }))),
  redirectStatus: s.optional(s.integer({ minimum: 300, maximum: 399 })),
});

export type AuthzMetadata = Infer<typeof authzMetadataSchema>;
/** Authorization metadata with every omitted list made empty: what the evaluator reads. */
export interface ResolvedAuthz {
  readonly defaultPolicy?: 'allow' | 'deny';
  readonly rules: readonly PolicyRuleModel[];
}
export type ListenerMetadata = Infer<typeof listenerMetadataSchema>;
export type FilterChainMetadata = Infer<typeof filterChainMetadataSchema>;
export type ClusterMetadata = Infer<typeof clusterMetadataSchema>;
export type EndpointMetadata = Infer<typeof endpointMetadataSchema>;
export type RouteMetadata = Infer<typeof routeMetadataSchema>;

/** The resource kinds that carry weft metadata, with their schema. */
export const METADATA_SCHEMAS = {
  listener: listenerMetadataSchema,
  filterChain: filterChainMetadataSchema,
  cluster: clusterMetadataSchema,
  endpoint: endpointMetadataSchema,
  route: routeMetadataSchema,
} as const satisfies Record<string, Schema<unknown>>;

export type MetadataKind = keyof typeof METADATA_SCHEMAS;

const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * The metadata with snake_case keys written camelCase: the proxy reads proto3 JSON (a bootstrap)
 * and the codec's form alike, so `rate_limit` and `rateLimit` are one field.
 */
export function normalizeMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeMetadata);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), normalizeMetadata(v)]));
}

/** Every problem of `value` as the weft metadata of a `kind`, each `WEFT_ERR_XDS_METADATA: <path>: …`. */
export function metadataProblems(kind: MetadataKind, value: unknown, path = 'metadata.filter_metadata.weft'): string[] {
  const out: string[] = [];
  (METADATA_SCHEMAS[kind] as Schema<unknown>).validate(normalizeMetadata(value), path, out);
  return out.map((p) => `${XDS_METADATA_CODE}: ${p}`);
}

/** Writes typed metadata into the `metadata` field of an xDS resource. */
export function weftMeta<K extends MetadataKind>(_kind: K, value: Infer<(typeof METADATA_SCHEMAS)[K]>): { filter_metadata: { weft: Infer<(typeof METADATA_SCHEMAS)[K]> } } {
  return { filter_metadata: { weft: value } };
}

/** `authz` metadata (already checked by {@link metadataProblems}) with omitted lists made empty. */
export function resolveAuthz(value: unknown): ResolvedAuthz {
  const a = normalizeMetadata(value) as AuthzMetadata;
  return {
    ...(a.defaultPolicy ? { defaultPolicy: a.defaultPolicy } : {}),
    rules: (a.rules ?? []).map((r) => ({
      id: r.id,
      action: r.action,
      from: (r.from ?? []).map((f) => ({ principals: f.principals ?? [], namespaces: f.namespaces ?? [] })),
      to: (r.to ?? []).map((t) => ({ paths: t.paths ?? [], methods: t.methods ?? [], ports: t.ports ?? [] })),
    })),
  };
}
