/**
 * CEL admission rules (`x-kubernetes-validations`) of the weft CRDs: what the API server can refuse
 * on its own, one object at a time, so `kubectl apply` of an invalid edit fails instead of reaching
 * the control plane. Each rule mirrors a check of the model builder (named beside it); rules that
 * need other objects (does this version exist?) cannot be CEL and stay with the control plane.
 */
import type { CelRule } from './schema';

/** The sidecar's ports (api/bootstrap.ts RESERVED_PORT_LIST; a test keeps the two equal). */
export const CEL_RESERVED_PORTS: readonly number[] = [15006, 15001, 15020];
const reserved = `[${CEL_RESERVED_PORTS.join(', ')}]`;

/** The rules, by the schema node they sit on. */
export const CRD_RULES = {
  /** A CanaryRoute rule (build-route.ts: WEFT_ERR_MODEL_INVALID_WEIGHTS, _DUPLICATE, _CONTRADICTION). */
  routeRule: [
    { rule: '!has(self.backends) || size(self.backends) == 0 || self.backends.map(b, b.weight).sum() == 100', message: 'backends weights must sum to 100' },
    { rule: '!has(self.backends) || self.backends.all(b, self.backends.exists_one(c, c.version == b.version))', message: 'a version may be listed once in backends', reason: 'FieldValueDuplicate' },
    { rule: '[has(self.backends) && size(self.backends) > 0, has(self.redirect), has(self.directResponse)].filter(x, x).size() <= 1', message: 'set only one of backends, redirect, directResponse' },
  ],
  /** `fault.abort` (build-route.ts: WEFT_ERR_MODEL_CONTRADICTION). */
  abort: [{ rule: 'has(self.httpStatus) != has(self.grpcStatus)', message: 'set exactly one of httpStatus, grpcStatus' }],
  /** A path match (build-route.ts matchProblems: WEFT_ERR_MODEL_INVALID_MATCH). */
  stringMatch: [{ rule: '[has(self.exact), has(self.prefix), has(self.regex)].filter(x, x).size() <= 1', message: 'set only one of exact, prefix, regex' }],
  /** A header or query match (build-route.ts matchProblems). */
  headerMatch: [{ rule: '[has(self.exact), has(self.regex), has(self.present)].filter(x, x).size() <= 1', message: 'set only one of exact, regex, present' }],
  /** `retries.backoff` (build-route.ts retriesOf: WEFT_ERR_MODEL_CONTRADICTION). */
  backoff: [{ rule: 'duration(self.max) >= duration(self.base)', message: 'backoff max must not be below base' }],
  /** `trafficPolicy.loadBalancer` (build-model.ts serviceProblems: WEFT_ERR_MODEL_CONTRADICTION). */
  loadBalancer: [{ rule: "!has(self.hash) || self.policy == 'consistent-hash'", message: 'hash is only used by policy consistent-hash' }],
  /** `loadBalancer.hash`. */
  hash: [{ rule: '!(has(self.header) && has(self.cookie))', message: 'set header or cookie, not both' }],
  /** A MeshService port (build-model.ts serviceProblems: WEFT_ERR_MODEL_RESERVED_PORT). */
  port: [{ rule: `!(self.port in ${reserved}) && (!has(self.targetPort) || !(self.targetPort in ${reserved}))`, message: `ports ${CEL_RESERVED_PORTS.join(', ')} are reserved for the sidecar` }],
  /** MeshService `ports` (build-model.ts serviceProblems: WEFT_ERR_MODEL_DUPLICATE; names are unique by list-map key). */
  ports: [{ rule: 'self.all(p, self.exists_one(q, q.port == p.port))', message: 'a port number may be declared once', reason: 'FieldValueDuplicate' }],
  /** MtlsPolicy `scope` (build-policy.ts: WEFT_ERR_MODEL_CONTRADICTION). */
  scope: [{ rule: '!has(self.port) || has(self.service)', message: 'a port scope needs service (ports belong to a service)' }],
} as const satisfies Record<string, readonly CelRule[]>;

/**
 * Upper bounds that keep the rules' estimated cost inside the API server's budget: it multiplies a
 * rule on list items by the list's largest possible size, and an unbounded list is sized from the
 * 3 MB request limit (Gateway API bounds its lists for the same reason).
 */
export const CRD_LIMITS = { backends: 16, ports: 64, versions: 64, routes: 64, matches: 32, headers: 16 } as const;
