/** Traffic-policy props of a MeshService (load balancer, retries, timeout, outlier detection, limits) and their wire form. */
import { IConstruct } from 'constructs';
import { TrafficPolicy } from '../api/resources';
import { checkDuration, checkInt, checkRetries, checkRetryBudget, RetryOptions } from './checks';
import { WeftValidationError } from './errors';
import { LoadBalancer } from './values';

/** Passive health checking: eject endpoints that keep failing (gRPC A50 / Envoy outlier detection). */
export interface OutlierDetectionOptions {
  /** @default - not used */
  readonly consecutive5xx?: number;
  /** @default - not used */
  readonly consecutiveGatewayErrors?: number;
  /** @default '10s' */
  readonly interval?: string;
  /** @default '30s' */
  readonly baseEjectionTime?: string;
  /** @default 10 */
  readonly maxEjectionPercent?: number;
}

/** Circuit-breaker limits per caller proxy. */
export interface ConnectionLimitsOptions {
  /** @default - unlimited */
  readonly maxConnections?: number;
  /** @default - unlimited */
  readonly maxPendingRequests?: number;
  /** @default - unlimited */
  readonly maxRequests?: number;
  /** @default - unlimited */
  readonly maxRequestsPerConnection?: number;
}

/** Local (per proxy) token-bucket rate limit on inbound requests. */
export interface RateLimitOptions {
  readonly requestsPerSecond: number;
  /** @default - requestsPerSecond rounded up */
  readonly burst?: number;
}

/** Traffic policy of calls to a service (what callers' proxies apply). */
export interface TrafficPolicyOptions {
  /**
   * Endpoint picker.
   * @default LoadBalancer.peakEwma() (chosen by the control plane when unset)
   */
  readonly loadBalancer?: LoadBalancer;
  /**
   * Retries of failed tries (above the balancer, so a retry may reach another endpoint).
   * @default - no retries
   */
  readonly retries?: RetryOptions;
  /**
   * Whole-request deadline, retries included.
   * @default - no deadline
   */
  readonly timeout?: string;
  /**
   * Passive health checking.
   * @default - no outlier detection
   */
  readonly outlierDetection?: OutlierDetectionOptions;
  /**
   * Connection and request limits.
   * @default - unlimited
   */
  readonly connectionLimits?: ConnectionLimitsOptions;
  /**
   * Inbound rate limit.
   * @default - none
   */
  readonly rateLimit?: RateLimitOptions;
}

/** Checks traffic-policy props (constructor-time) and returns the wire form, or undefined when empty. */
export function renderTrafficPolicy(scope: IConstruct, o: TrafficPolicyOptions): TrafficPolicy | undefined {
  const retries = checkRetries(scope, 'retries', o.retries);
  checkDuration(scope, 'timeout', o.timeout);
  checkRetryBudget(scope, 'retries', o.retries, o.timeout);
  const od = o.outlierDetection;
  if (od) {
    checkInt(scope, 'outlierDetection.consecutive5xx', od.consecutive5xx, 1);
    checkInt(scope, 'outlierDetection.consecutiveGatewayErrors', od.consecutiveGatewayErrors, 1);
    checkDuration(scope, 'outlierDetection.interval', od.interval);
    checkDuration(scope, 'outlierDetection.baseEjectionTime', od.baseEjectionTime);
    checkInt(scope, 'outlierDetection.maxEjectionPercent', od.maxEjectionPercent, 0, 100);
  }
  const cl = o.connectionLimits;
  if (cl) {
    checkInt(scope, 'connectionLimits.maxConnections', cl.maxConnections, 1);
    checkInt(scope, 'connectionLimits.maxPendingRequests', cl.maxPendingRequests, 0);
    checkInt(scope, 'connectionLimits.maxRequests', cl.maxRequests, 1);
    checkInt(scope, 'connectionLimits.maxRequestsPerConnection', cl.maxRequestsPerConnection, 1);
  }
  if (o.rateLimit) {
    if (!(o.rateLimit.requestsPerSecond > 0) || !Number.isFinite(o.rateLimit.requestsPerSecond)) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'rateLimit.requestsPerSecond must be a positive number', scope, { prop: 'rateLimit.requestsPerSecond', value: o.rateLimit.requestsPerSecond });
    }
    checkInt(scope, 'rateLimit.burst', o.rateLimit.burst, 1);
  }
  const lb = o.loadBalancer?._render();
  if (lb?.policy === 'consistent-hash' && Boolean(lb.hash?.header) === Boolean(lb.hash?.cookie)) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'LoadBalancer.consistentHash() needs exactly one of header or cookie', scope, { prop: 'loadBalancer', value: lb.hash });
  }
  const tp: TrafficPolicy = {
    ...(lb ? { loadBalancer: lb } : {}),
    ...(retries ? { retries } : {}),
    ...(o.timeout ? { timeout: o.timeout } : {}),
    ...(od ? { outlierDetection: strip(od) } : {}),
    ...(cl ? { connectionLimits: strip(cl) } : {}),
    ...(o.rateLimit ? { rateLimit: strip(o.rateLimit) as TrafficPolicy['rateLimit'] } : {}),
  };
  return Object.keys(tp).length ? tp : undefined;
}

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
