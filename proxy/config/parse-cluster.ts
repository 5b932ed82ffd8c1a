/**
 * Parses Envoy v3 Cluster and ClusterLoadAssignment into typed values: LB policy, circuit breakers,
 * outlier detection (gRFC A50 with Envoy's defaults), upstream protocol and expected identity (A29).
 */
import { isIP } from 'node:net';
import { Reader, weftMetadata } from './fields';
import type { CircuitBreakers, ClusterConfig, EndpointConfig, EndpointSet, LbPolicyName, OutlierDetectionConfig, RetryBudgetConfig, TokenBucketConfig } from './types';

/** Envoy's circuit-breaker defaults. */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakers = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 };
/**
 * Connections per endpoint when `per_host_thresholds` says nothing (Envoy has no default). It is the
 * only bound on the HTTP/1.1 pool (EndpointClients builds it unbounded), whatever the value.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_HOST = 256;
/** linkerd2-proxy's retry budget: 20 % of requests, plus 10 retries/s, over a 10 s window. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetConfig = { retryRatio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 };
/** linkerd2-proxy's peak-EWMA decay. */
export const DEFAULT_EWMA_DECAY_MS = 10_000;
/** Envoy's ring-hash minimum ring size. */
export const DEFAULT_RING_SIZE = 1024;

const LB_ENUM = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'] as const;
const LB_BY_NUMBER = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', undefined, 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'] as unknown as readonly (typeof LB_ENUM)[number][];
const WEFT_LB: Record<string, LbPolicyName> = { 'peak-ewma': 'peak-ewma', 'round-robin': 'round-robin', 'least-request': 'least-request', 'consistent-hash': 'ring-hash', 'ring-hash': 'ring-hash' };

/** The LB policy: weft metadata wins, then `load_balancing_policy`, then `lb_policy`; absent = peak-EWMA. */
function lbPolicy(r: Reader, meta: Reader | undefined): LbPolicyName | undefined {
  const fromMeta = meta?.str('lb_policy');
  if (fromMeta !== undefined) {
    if (WEFT_LB[fromMeta]) return WEFT_LB[fromMeta];
    meta!.problem('lb_policy', `must be one of ${Object.keys(WEFT_LB).join(', ')}, got ${JSON.stringify(fromMeta)}`);
    return undefined;
  }
  const lbp = r.child('load_balancing_policy');
  if (lbp) {
    for (const p of lbp.list('policies')) {
      const url = p.child('typed_extension_config')?.child('typed_config')?.typeUrl() ?? '';
      if (/PeakEwma/i.test(url)) return 'peak-ewma';
      if (/RoundRobin$/.test(url) || /WrrLocality$/.test(url)) return 'round-robin';
      if (/LeastRequest$/.test(url)) return 'least-request';
      if (/RingHash$/.test(url)) return 'ring-hash';
    }
    lbp.problem('policies', 'has no policy weft supports (peak_ewma, round_robin, least_request, ring_hash)');
    return undefined;
  }
  const e = r.enumOf('lb_policy', LB_ENUM, LB_BY_NUMBER);
  if (e === undefined) return r.has('lb_policy') ? undefined : 'peak-ewma';
  if (e === 'ROUND_ROBIN') return 'round-robin';
  if (e === 'LEAST_REQUEST') return 'least-request';
  if (e === 'RING_HASH' || e === 'MAGLEV') return 'ring-hash';
  r.problem('lb_policy', `${e} is not supported; use ROUND_ROBIN, LEAST_REQUEST or RING_HASH`);
  return undefined;
}

function circuitBreakers(r: Reader): { breakers: CircuitBreakers; budgetRatio?: number } {
  const cb = r.child('circuit_breakers');
  const isDefault = (x: Reader) => (x.raw('priority') ?? 'DEFAULT') === 'DEFAULT' || x.raw('priority') === 0;
  const t = cb?.list('thresholds').find(isDefault);
  // Envoy honours only max_connections in per_host_thresholds
  const perHost = cb?.list('per_host_thresholds').find(isDefault)?.num('max_connections', { min: 1, integer: true }) ?? DEFAULT_MAX_CONNECTIONS_PER_HOST;
  if (!t) return { breakers: { ...DEFAULT_CIRCUIT_BREAKERS, maxConnectionsPerHost: perHost } };
  const budget = t.child('retry_budget');
  return {
    breakers: {
      maxConnectionsPerHost: perHost,
      maxConnections: t.num('max_connections', { min: 1, integer: true }) ?? DEFAULT_CIRCUIT_BREAKERS.maxConnections,
      maxPendingRequests: t.num('max_pending_requests', { min: 0, integer: true }) ?? DEFAULT_CIRCUIT_BREAKERS.maxPendingRequests,
      maxRequests: t.num('max_requests', { min: 1, integer: true }) ?? DEFAULT_CIRCUIT_BREAKERS.maxRequests,
    },
    budgetRatio: budget ? (budget.child('budget_percent')?.num('value', { min: 0, max: 100 }) ?? 20) / 100 : undefined,
  };
}

/** Envoy OutlierDetection with Envoy's defaults (consecutive 5xx and success rate on, gateway and failure percentage off). */
export function parseOutlierDetection(r: Reader): OutlierDetectionConfig {
  const enforcing5xx = r.num('enforcing_consecutive_5xx', { min: 0, max: 100 }) ?? 100;
  const enforcingGw = r.num('enforcing_consecutive_gateway_failure', { min: 0, max: 100 }) ?? 0;
  const enforcingSr = r.num('enforcing_success_rate', { min: 0, max: 100 }) ?? 100;
  const enforcingFp = r.num('enforcing_failure_percentage', { min: 0, max: 100 }) ?? 0;
  const baseEjectionTimeMs = r.duration('base_ejection_time') ?? 30_000;
  return {
    intervalMs: Math.max(1, r.duration('interval') ?? 10_000),
    baseEjectionTimeMs,
    maxEjectionTimeMs: Math.max(baseEjectionTimeMs, r.duration('max_ejection_time') ?? 300_000),
    maxEjectionPercent: r.num('max_ejection_percent', { min: 0, max: 100 }) ?? 10,
    consecutive5xx: enforcing5xx > 0 ? r.num('consecutive_5xx', { min: 1, integer: true }) ?? 5 : undefined,
    consecutiveGatewayErrors: enforcingGw > 0 ? r.num('consecutive_gateway_failure', { min: 1, integer: true }) ?? 5 : undefined,
    // minimum_hosts and request_volume may be 0 (Envoy, gRFC A50): see OutlierDetector for what 0 means
    successRate: enforcingSr > 0 ? {
      minimumHosts: r.num('success_rate_minimum_hosts', { min: 0, integer: true }) ?? 5,
      requestVolume: r.num('success_rate_request_volume', { min: 0, integer: true }) ?? 100,
      stdevFactor: (r.num('success_rate_stdev_factor', { min: 0 }) ?? 1900) / 1000,
      enforcingPercent: enforcingSr,
    } : undefined,
    failurePercentage: enforcingFp > 0 ? {
      threshold: r.num('failure_percentage_threshold', { min: 0, max: 100 }) ?? 85,
      minimumHosts: r.num('failure_percentage_minimum_hosts', { min: 0, integer: true }) ?? 5,
      requestVolume: r.num('failure_percentage_request_volume', { min: 0, integer: true }) ?? 50,
      enforcingPercent: enforcingFp,
    } : undefined,
  };
}

/** HTTP/2 when the cluster's protocol options (new or legacy) ask for it. */
function protocol(r: Reader, meta: Reader | undefined): 'http1' | 'http2' {
  const m = meta?.str('protocol');
  if (m === 'http2' || m === 'grpc') return 'http2';
  if (m === 'http' || m === 'http1') return 'http1';
  if (r.has('http2_protocol_options')) return 'http2';
  const opts = r.child('typed_extension_protocol_options');
  for (const key of Object.keys(opts?.obj ?? {})) {
    const o = opts!.child(key)!;
    if (o.child('explicit_http_config')?.has('http2_protocol_options')) return 'http2';
    if (o.child('use_downstream_protocol_config')?.has('http2_protocol_options')) return 'http2';
  }
  return 'http1';
}

/** Finds the SPIFFE ID an UpstreamTlsContext expects in the peer's SAN (A29 `match_subject_alt_names`). */
function expectedIdentity(v: unknown): string | undefined {
  if (typeof v === 'string') return v.startsWith('spiffe://') ? v : undefined;
  if (typeof v !== 'object' || v === null) return undefined;
  for (const x of Object.values(v)) {
    const found = expectedIdentity(x);
    if (found) return found;
  }
  return undefined;
}

function tls(r: Reader, meta: Reader | undefined): ClusterConfig['tls'] {
  const ts = r.child('transport_socket');
  const fromMeta = meta?.str('identity');
  if (meta?.str('mtls_mode') === 'DISABLE') return undefined;
  if (!ts) return fromMeta ? { expectedIdentity: fromMeta } : undefined;
  const typed = ts.child('typed_config');
  const isTls = (ts.str('name') ?? '').includes('tls') || /UpstreamTlsContext$/.test(typed?.typeUrl() ?? '');
  if (!isTls) return undefined;
  return { expectedIdentity: fromMeta ?? expectedIdentity(typed?.obj) };
}

/** weft metadata `rateLimit {requestsPerSecond, burst}` as a token bucket. */
export function weftRateLimit(meta: Reader | undefined): TokenBucketConfig | undefined {
  const rl = meta?.child('rate_limit');
  if (!rl) return undefined;
  const rps = rl.num('requests_per_second', { min: 0, required: true }) ?? 0;
  const burst = rl.num('burst', { min: 1, integer: true }) ?? Math.max(1, Math.ceil(rps));
  if (rps <= 0) return undefined;
  // One token every 1/rps seconds, bucket of `burst` tokens.
  return { maxTokens: burst, tokensPerFill: 1, fillIntervalMs: 1000 / rps };
}

/** Envoy Cluster → ClusterConfig; undefined when any problem was recorded. */
export function parseCluster(r: Reader): ClusterConfig | undefined {
  const before = r.problems.length;
  const name = r.str('name', true) ?? '';
  const meta = weftMetadata(r, 'cluster');
  const type = r.raw('type') ?? 'EDS';
  let staticEndpoints: EndpointConfig[] | undefined;
  if (type === 'STATIC' || type === 0) {
    const la = r.child('load_assignment');
    if (!la) r.problem('load_assignment', 'is required for a STATIC cluster');
    else staticEndpoints = [...parseEndpoints(la).values()];
  } else if (type !== 'EDS' && type !== 3) {
    r.problem('type', `${JSON.stringify(type)} is not supported; use EDS or STATIC`);
  }
  const lb = lbPolicy(r, meta);
  const { breakers, budgetRatio } = circuitBreakers(r);
  const od = r.child('outlier_detection');
  const cluster: ClusterConfig = {
    name,
    edsName: r.child('eds_cluster_config')?.str('service_name') || name,
    lbPolicy: lb ?? 'peak-ewma',
    ringSize: Math.min(8_388_608, r.child('ring_hash_lb_config')?.num('minimum_ring_size', { min: 1, integer: true }) ?? DEFAULT_RING_SIZE),
    protocol: protocol(r, meta),
    tls: tls(r, meta),
    circuitBreakers: breakers,
    outlierDetection: od ? parseOutlierDetection(od) : undefined,
    retryBudget: budgetRatio !== undefined ? { ...DEFAULT_RETRY_BUDGET, retryRatio: budgetRatio } : DEFAULT_RETRY_BUDGET,
    ewmaDecayMs: meta?.duration('ewma_decay') ?? DEFAULT_EWMA_DECAY_MS,
    rateLimit: weftRateLimit(meta),
    staticEndpoints,
  };
  return r.problems.length === before ? cluster : undefined;
}

const HEALTH = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'] as const;

/** The lb_endpoints of a ClusterLoadAssignment, keyed `address:port`; problems for hostnames and duplicates. */
function parseEndpoints(r: Reader): Map<string, EndpointConfig> {
  const out = new Map<string, EndpointConfig>();
  for (const locality of r.list('endpoints')) {
    for (const le of locality.list('lb_endpoints')) {
      const sa = le.child('endpoint')?.child('address')?.child('socket_address');
      if (!sa) {
        le.problem('endpoint.address.socket_address', 'is required');
        continue;
      }
      const address = sa.str('address', true) ?? '';
      const port = sa.num('port_value', { min: 1, max: 65535, integer: true, required: !sa.has('named_port') });
      if (sa.has('named_port')) sa.problem('named_port', 'is not supported; use port_value');
      if (address && isIP(address) === 0) sa.problem('address', `${JSON.stringify(address)} is not a valid IPv4 or IPv6 address`);
      if (port === undefined || !address) continue;
      const key = `${address}:${port}`;
      if (out.has(key)) le.problem(undefined, `duplicate endpoint ${key}`);
      const health = le.enumOf('health_status', HEALTH) ?? 'UNKNOWN';
      const leMeta = weftMetadata(le, 'endpoint');
      const identity = leMeta?.str('identity');
      const meshed = leMeta?.bool('meshed') ?? true;
      out.set(key, {
        address,
        port,
        weight: le.num('load_balancing_weight', { min: 1, integer: true }) ?? 1,
        healthy: health === 'UNKNOWN' || health === 'HEALTHY' || health === 'DEGRADED',
        identity,
        meshed,
      });
    }
  }
  return out;
}

/** Envoy ClusterLoadAssignment → EndpointSet; undefined when any problem was recorded. */
export function parseClusterLoadAssignment(r: Reader): EndpointSet | undefined {
  const before = r.problems.length;
  const name = r.str('cluster_name', true) ?? '';
  const endpoints = [...parseEndpoints(r).values()];
  return r.problems.length === before ? { name, endpoints } : undefined;
}
